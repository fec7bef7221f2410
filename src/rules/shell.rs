//! Words as `sh` reads them, for the commands ccmulti writes for people and
//! models (hook commands, start lines, the git commands a hand-over names).

/// Quotes a word for `sh` only when it needs it, by `shlex`'s POSIX rules.
/// The words are paths, arguments and environment values, which cannot hold
/// a NUL (the OS passes C strings), and no shell could take one: a word is
/// cut at a NUL, as the shell itself would cut it.
pub fn quote(word: &str) -> String {
    let word = word.split('\0').next().unwrap_or_default();
    shlex::try_quote(word).map_or_else(|_| String::from("''"), std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("/usr/bin/ccmulti"), "/usr/bin/ccmulti");
        assert_eq!(quote("/My Tools/ccmulti"), "'/My Tools/ccmulti'");
        assert_eq!(quote("/a'b/ccmulti"), r#""/a'b/ccmulti""#);
        assert_eq!(quote("a$b`c"), "'a$b`c'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a\0b"), "a");
    }
}
