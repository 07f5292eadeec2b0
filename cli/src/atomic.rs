//! Files replaced whole: written beside the target, synced, then renamed over it, so a crash
//! leaves the old or the new content and never a torn one.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes`.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_is_replaced() {
        let p = std::env::temp_dir().join(format!("sextant-atomic-{}", std::process::id()));
        super::write(&p, b"one").unwrap();
        super::write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        std::fs::remove_file(&p).unwrap();
    }
}
