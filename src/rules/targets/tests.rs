use super::*;

fn t(path: &str) -> LockTarget {
    LockTarget::parse(path)
}

#[test]
fn the_kind_is_read_from_the_string() {
    assert!(matches!(t("src/a.rs"), LockTarget::File(_)));
    assert!(matches!(t("src/api/"), LockTarget::Dir(_)));
    for glob in [
        "*",
        "src/?.rs",
        "src/[ab].rs",
        "src/{a,b}.rs",
        "src/**/*.rs",
        "a\\[1\\].rs",
    ] {
        assert!(matches!(t(glob), LockTarget::Glob(_)), "{glob}");
        assert!(is_pattern(glob), "{glob}");
    }
    // A file locked before patterns existed whose name does not compile stays a file.
    assert!(matches!(t("src/[a"), LockTarget::File(_)));
    assert!(!is_pattern("src/a.rs"));
    assert!(is_pattern("src/"));
}

#[test]
fn literal_prefix_and_suffix_bound_every_match() {
    let cases = [
        ("src/api/**/*.rs", "src/api/", ".rs"),
        ("*", "", ""),
        ("src/?.rs", "src/", ".rs"),
        ("src/{a,b}.rs", "src/", ".rs"),
        ("src/[ab]x", "src/", "x"),
        ("a\\*b", "a", "b"),
        ("src/**", "src/", ""),
    ];
    for (pattern, prefix, suffix) in cases {
        let LockTarget::Glob(g) = t(pattern) else {
            panic!("{pattern} is a glob");
        };
        assert_eq!(
            (g.literal_prefix(), g.literal_suffix()),
            (prefix, suffix),
            "{pattern}"
        );
    }
}

#[test]
fn a_glob_matches_within_components_and_escapes_are_literal() {
    assert!(t("src/*.rs").overlaps(&t("src/a.rs")));
    assert!(!t("src/*.rs").overlaps(&t("src/api/a.rs")));
    assert!(t("src/**/*.rs").overlaps(&t("src/a.rs")));
    assert!(t("src/**/*.rs").overlaps(&t("src/x/y/a.rs")));
    assert!(t("a\\[1\\].rs").overlaps(&t("a[1].rs")));
    assert!(!t("a\\[1\\].rs").overlaps(&t("a1.rs")));
}

#[test]
fn overlap_is_symmetric() {
    let all = [
        "src/a.rs",
        "src/api/",
        "src/",
        "src/ab.rs",
        "src/api/**/*.rs",
        "src/*.rs",
        "docs/*.md",
        "*",
        "src/{a,b}.rs",
        "src/api/x.py",
    ];
    for a in all {
        for b in all {
            assert_eq!(t(a).overlaps(&t(b)), t(b).overlaps(&t(a)), "{a} / {b}");
        }
        assert!(t(a).overlaps(&t(a)), "{a} overlaps itself");
    }
}
