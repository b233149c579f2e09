//! `logseal policy`: the default policy and schema are printed, and policy
//! and entity files are checked against the schema with errors that name
//! the problem.

use crate::common::{Env, logseal};

const ENTITIES: &str = r#"[
  {"uid": {"type": "Role", "id": "analyst"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Grant", "id": "g-bob"}, "attrs": {"expires": "2027-01-01T00:00:00Z"}, "parents": [{"type": "Role", "id": "analyst"}]},
  {"uid": {"type": "Staff", "id": "bob.example.com"}, "attrs": {}, "parents": [{"type": "Grant", "id": "g-bob"}]}
]"#;

#[test]
fn policy_check_accepts_the_default_and_names_what_is_wrong() {
    let env = Env::new();
    let out = logseal().args(["policy", "show", "default"]).output().unwrap();
    assert!(out.status.success());
    let policies = env.tmp.path().join("policies.cedar");
    std::fs::write(&policies, &out.stdout).unwrap();
    let entities = env.tmp.path().join("entities.json");
    std::fs::write(&entities, ENTITIES).unwrap();
    let check = |policies: &std::path::Path| {
        logseal()
            .args(["policy", "check", "--policies"])
            .arg(policies)
            .arg("--entities")
            .arg(&entities)
            .output()
            .unwrap()
    };
    let out = check(&policies);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("policies valid") && stdout.contains("permit-search") && stdout.contains("1 principals"),
        "{stdout}"
    );

    // A misspelt context attribute: exit 2, the policy file named.
    let bad = env.tmp.path().join("bad.cedar");
    let misspelt =
        std::fs::read_to_string(&policies).unwrap().replace("context.reason != \"\"", "context.reasn != \"\"");
    std::fs::write(&bad, misspelt).unwrap();
    let out = check(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.cedar") && stderr.contains("do not validate") && stderr.contains("reasn"), "{stderr}");

    let schema = logseal().args(["policy", "show", "schema"]).output().unwrap();
    assert!(String::from_utf8_lossy(&schema.stdout).contains("entity Grant in [Role]"));
}
