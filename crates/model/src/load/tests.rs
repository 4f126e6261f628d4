use super::*;

fn load(text: &str) -> Result<Model, ModelErrors> {
    load_str(text, Path::new("test.toml"))
}

#[test]
fn builtin_pithead_loads() {
    let m = load_str(BUILTIN_PITHEAD, Path::new("strategies/pithead.toml")).unwrap();
    assert!(m.axes.len() >= 14, "{} axes", m.axes.len());
    assert!(m.transitions_by_default);
    assert!(m.violation(&m.default_config().0).is_none());
}

#[test]
fn axes_only_model_is_valid() {
    let m = load("[[axis]]\nname = \"a\"\nvalues = [1, 2]\n").unwrap();
    assert_eq!(m.axes[0].values[1].label, "2");
    assert_eq!(m.default_config(), super::super::Config(vec![0]));
}

#[test]
fn errors_carry_line_and_hint() {
    let e = load("[[axis]]\nname = \"a\"\nvalues = [\"x\", \"y\"]\ndefault = \"z\"\n").unwrap_err();
    let s = e.to_string();
    assert!(s.contains("test.toml:4"), "{s}");
    assert!(s.contains("not among its values"), "{s}");
    assert!(s.contains("use one of: x, y"), "{s}");

    let e =
        load("[[axis]]\nname = \"a\"\nvalues = [true, false]\ndefault = \"yes\"\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("it is a string, the values are booleans"),
        "{e}"
    );

    let e = load("[[axis]]\nname = \"a\"\nvalues = [1]\n[[axis]]\nname = \"a\"\nvalues = [2]\n")
        .unwrap_err();
    assert!(
        e.to_string().contains("test.toml:5: duplicate axis 'a'"),
        "{e}"
    );

    let e = load("[[axis]]\nname = \"a\"\nvalues = [1]\n\n[[constraint]]\nrule = '[b] = 1'\n")
        .unwrap_err();
    assert!(e.to_string().contains("test.toml:5"), "{e}");
    assert!(e.to_string().contains("unknown axis [b]"), "{e}");

    let e = load("[[axis]]\nname = \"a\"\nvalues = [1]\nbogus = 3\n").unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");

    let e = load("").unwrap_err();
    assert!(e.to_string().contains("no axes"), "{e}");
}

#[test]
fn a_prerequisite_declares_its_type_and_its_sim_value_must_fit_it() {
    let axis = "[[axis]]\nname = \"a\"\nvalues = [1]\n";
    let m = load(&format!(
        "[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"host\"\n{axis}"
    ))
    .unwrap();
    assert_eq!(m.prerequisites[0].kind, PrereqType::Host);
    let e = load(&format!(
        "{axis}[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"url\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("test.toml:4") && e.contains("unknown type 'url'"),
        "{e}"
    );
    assert!(e.contains("yes-no, host, hex64, path"), "{e}");
    let e = load(&format!(
        "{axis}[[prerequisite]]\nname = \"h\"\nhelp = \"x\"\ntype = \"host\"\nsim = \"h:1\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("its sim value has a port"), "{e}");
}

#[test]
fn an_axis_without_values_is_one_error_not_two() {
    let e = load(
        "[[axis]]\nname = \"a\"\nvalues = []\n[[axis]]\nname = \"b\"\nvalues = [1, 2]\n\
         [[constraint]]\nrule = 'IF [a] = 1 THEN [b] = 2'\n\
         [[gate]]\naxis = \"a\"\nvalue = 1\nneeds = []\nreason = \"r\"\n",
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(e.to_string().contains("axis 'a' has no values"), "{e}");
}

const VARIANTS: &str = r#"[[axis]]
name = "a"
values = ["x", "y", "z"]

[[axis]]
name = "b"
values = [false, true]

[[normalise]]
name = "z-forces-b"
when = '[a] = "z"'
set = { b = false }

[[variant]]
name = "now"
default = true

[[variant]]
name = "old"
drop = ["normalise:z-forces-b"]
drop_values = { a = ["y"] }
"#;

#[test]
fn a_variant_drops_named_rules_and_values_and_is_another_model() {
    let now = load(VARIANTS).unwrap();
    assert_eq!(now.variant, "now");
    assert_eq!(now.normalisations.len(), 1);
    let old = load_variant(VARIANTS, Path::new("test.toml"), Some("old")).unwrap();
    assert_eq!(old.variant, "old");
    assert!(old.normalisations.is_empty());
    assert_eq!(old.constraints.len(), 1);
    assert_eq!(old.constraints[0].text, r#"[a] <> "y""#);
    assert_ne!(old.hash, now.hash);
    assert_eq!(
        load_variant(VARIANTS, Path::new("test.toml"), Some("now"))
            .unwrap()
            .hash,
        now.hash
    );
    let e = load_variant(VARIANTS, Path::new("test.toml"), Some("new")).unwrap_err();
    assert!(e.to_string().contains("unknown variant 'new'"), "{e}");
    assert!(e.to_string().contains("now (default), old"), "{e}");
}

#[test]
fn a_broken_variant_fails_at_its_line_whichever_is_chosen() {
    let bad = |tail: &str| {
        load(&format!("{VARIANTS}\n{tail}"))
            .unwrap_err()
            .to_string()
    };
    let line = VARIANTS.lines().count() + 2;
    let e = bad("[[variant]]\nname = \"v\"\ndrop = [\"normalise:nope\"]\n");
    assert!(e.contains(&format!("test.toml:{line}")), "{e}");
    assert!(e.contains("which the model does not have"), "{e}");
    let e = bad("[[variant]]\nname = \"v\"\ninclude = [\"nope\"]\n");
    assert!(e.contains("includes unknown variant 'nope'"), "{e}");
    let e = bad("[[variant]]\nname = \"v\"\ndefault = true\n");
    assert!(e.contains("2 variants are marked default"), "{e}");
    let e = bad("[[variant]]\nname = \"v\"\ndetect = { ask = \"apply -y\", line = \"x\" }\n");
    assert!(e.contains("read-only questions"), "{e}");
    let e = bad("[[variant]]\nname = \"v\"\ndrop_values = { a = [\"w\"] }\n");
    assert!(e.contains("not one of its values"), "{e}");
    let e = bad("[[variant]]\nname = \"v\"\n\n[[variant.constraint]]\nrule = '[c] = 1'\n");
    assert!(e.contains(&format!("test.toml:{}", line + 3)), "{e}");
    assert!(e.contains("unknown axis [c]"), "{e}");
}
