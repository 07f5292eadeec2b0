//! Removes key material from text the caller gave us before it reaches an error, a log line,
//! diagnostics or a recording.
//!
//! Three shapes are removed: the value of an `AccountKey=` (or `SharedAccessKey=`, `sig=`)
//! setting, the user-information part of a URL (`scheme://user:secret@host`), and any run of 40
//! or more base64 characters (a master key is 64 bytes, 88 characters; an HMAC signature 44).

/// What stands where a secret was.
pub const REDACTED: &str = "<redacted>";

/// Settings whose value is a secret (case-insensitive), as in connection strings and SAS URLs.
const SECRET_SETTINGS: [&str; 4] = ["accountkey=", "sharedaccesskey=", "sig=", "password="];

/// Shortest base64 run treated as a key (a 30-byte secret); ids and hosts are shorter or not
/// base64.
const MIN_KEY_RUN: usize = 40;

fn is_b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_')
}

/// `text` with every secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> String {
    let mut out = redact_settings(text);
    out = redact_user_info(&out);
    redact_base64_runs(&out)
}

fn redact_settings(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = SECRET_SETTINGS
            .iter()
            .find(|s| lower[i..].starts_with(*s) && (i == 0 || !is_b64(char_before(text, i))));
        match hit {
            Some(s) => {
                out.push_str(&text[i..i + s.len()]);
                out.push_str(REDACTED);
                let rest = &text[i + s.len()..];
                let end = rest.find([';', '&', ' ', '"', '\'']).unwrap_or(rest.len());
                i += s.len() + end;
            }
            None => {
                let c = text[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn char_before(text: &str, i: usize) -> char {
    text[..i].chars().next_back().unwrap_or(' ')
}

fn redact_user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(p) = rest.find("://") {
        let (head, tail) = rest.split_at(p + 3);
        out.push_str(head);
        // A pasted secret may itself contain `/`, so the user information is looked for up to
        // the end of the URL, not of the authority: `user:secret@` (a `:` before the `@`) or
        // anything without a `/` before the `@`.
        let url_end = tail
            .find([' ', ';', '"', '\'', '?', '#'])
            .unwrap_or(tail.len());
        let user_info_end = tail[..url_end]
            .rfind('@')
            .filter(|&at| tail[..at].contains(':') || !tail[..at].contains('/'));
        match user_info_end {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&tail[at..url_end]);
            }
            None => out.push_str(&tail[..url_end]),
        }
        rest = &tail[url_end..];
    }
    out.push_str(rest);
    out
}

fn redact_base64_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= MIN_KEY_RUN {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_b64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

    #[test]
    fn connection_strings_user_info_and_bare_keys_are_removed() {
        let cs = format!("AccountEndpoint=https://a.documents.azure.com:443/;AccountKey={KEY};");
        let r = redact(&cs);
        assert!(!r.contains(&KEY[..20]), "{r}");
        assert!(
            r.contains("AccountEndpoint=https://a.documents.azure.com:443/"),
            "{r}"
        );
        let r = redact(&format!("https://user:{KEY}@host:443/"));
        assert!(!r.contains("user:") && !r.contains(&KEY[..20]), "{r}");
        assert!(r.contains("@host:443"), "{r}");
        let r = redact(&format!("the key {KEY} leaked"));
        assert_eq!(r, "the key <redacted> leaked");
        let r = redact("accountkey=short;other=1");
        assert_eq!(r, "accountkey=<redacted>;other=1");
    }

    #[test]
    fn ordinary_text_is_kept() {
        for s in [
            "https://acct.documents.azure.com:443/",
            "invalid item id \"a/b\": it contains '/'",
            "dbs/db/colls/c/docs/item-1",
            "",
            "unicodé 😀",
        ] {
            assert_eq!(redact(s), s);
        }
    }
}
