//! The default access policy: the role × action matrix, the messages a
//! denied request gets, and policy and entity files that must not load.

use logseal_query::policy::{AccessPolicy, AccessRequest, Action, DEFAULT_POLICIES};

/// 2026-11-28T12:00:00Z.
const NOW: i64 = 1_795_867_200_000_000;
const HOUR: i64 = 3_600_000_000;

const ENTITIES: &str = r#"[
  {"uid": {"type": "Role", "id": "investigator"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Role", "id": "analyst"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Role", "id": "auditor"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Grant", "id": "g-alice"}, "attrs": {"expires": {"__extn": {"fn": "datetime", "arg": "2027-01-01T00:00:00Z"}}, "ticket": "SEC-1"}, "parents": [{"type": "Role", "id": "investigator"}]},
  {"uid": {"type": "Grant", "id": "g-bob"}, "attrs": {"expires": "2027-01-01T00:00:00Z"}, "parents": [{"type": "Role", "id": "analyst"}]},
  {"uid": {"type": "Grant", "id": "g-carol"}, "attrs": {"expires": "2027-01-01T00:00:00Z"}, "parents": [{"type": "Role", "id": "auditor"}]},
  {"uid": {"type": "Grant", "id": "g-dave"}, "attrs": {"expires": "2026-01-01T00:00:00Z"}, "parents": [{"type": "Role", "id": "analyst"}]},
  {"uid": {"type": "Staff", "id": "alice.example.com"}, "attrs": {}, "parents": [{"type": "Grant", "id": "g-alice"}]},
  {"uid": {"type": "Staff", "id": "bob.example.com"}, "attrs": {}, "parents": [{"type": "Grant", "id": "g-bob"}]},
  {"uid": {"type": "Staff", "id": "carol.example.com"}, "attrs": {}, "parents": [{"type": "Grant", "id": "g-carol"}]},
  {"uid": {"type": "Staff", "id": "dave.example.com"}, "attrs": {}, "parents": [{"type": "Grant", "id": "g-dave"}]}
]"#;

fn policy() -> AccessPolicy {
    AccessPolicy::load(DEFAULT_POLICIES, ENTITIES).unwrap()
}

fn request<'a>(principal: &'a str, action: Action) -> AccessRequest<'a> {
    AccessRequest {
        principal,
        action,
        role: None,
        reason: Some("incident 42"),
        ticket: Some("SEC-1"),
        from_us: NOW - 24 * HOUR,
        to_us: NOW,
        now_us: NOW,
        filter_fields: &["time"],
        return_fields: &["time", "url_path"],
    }
}

#[test]
fn the_role_action_matrix() {
    let p = policy();
    let allowed = |r: AccessRequest<'_>| {
        let d = p.decide(&r);
        (d.allowed, d.denials)
    };
    let yes = (true, Vec::<String>::new());
    for action in [Action::Search, Action::Stats] {
        assert_eq!(allowed(request("alice.example.com", action)), yes, "investigator {action:?}");
        assert_eq!(allowed(request("bob.example.com", action)), yes, "analyst {action:?}");
        assert_eq!(
            allowed(request("carol.example.com", action)),
            (false, vec!["role auditor may not read log content".to_owned()])
        );
        assert_eq!(
            allowed(request("dave.example.com", action)),
            (false, vec!["grant g-dave expired at 2026-01-01T00:00:00Z".to_owned()])
        );
        let (ok, why) = allowed(request("mallory.example.com", action));
        assert!(!ok && why[0].contains("holds no grant"), "{why:?}");
    }
    assert_eq!(allowed(request("carol.example.com", Action::ReadAudit)), yes);
    for who in ["alice.example.com", "bob.example.com"] {
        let (ok, why) = allowed(request(who, Action::ReadAudit));
        assert!(!ok && why[0].starts_with("no policy permits read_audit"), "{who}: {why:?}");
    }
    let d = p.decide(&request("alice.example.com", Action::Search));
    assert_eq!((d.role.as_deref(), d.grant.as_deref()), (Some("investigator"), Some("g-alice")));
    assert_eq!(d.policies, vec!["permit-search".to_owned()]);
}

#[test]
fn denials_say_what_is_missing() {
    let p = policy();
    let mut r = request("alice.example.com", Action::Search);
    r.reason = None;
    r.ticket = Some("");
    let d = p.decide(&r);
    assert!(!d.allowed);
    let mut why = d.denials.clone();
    why.sort();
    assert_eq!(why, vec!["reason required".to_owned(), "ticket required for role investigator".to_owned()]);

    let mut r = request("bob.example.com", Action::Search);
    r.filter_fields = &["time", "client_ip"];
    assert_eq!(p.decide(&r).denials, vec!["role analyst may not filter on client_ip (use --ip-tag)".to_owned()]);
    r.filter_fields = &["time", "ip_tag"];
    assert!(p.decide(&r).allowed, "analysts filter on the pseudonym");
    r.return_fields = &["time", "client_ip"];
    assert!(p.decide(&r).denials[0].starts_with("role analyst may not see client_ip"));
    // An analyst needs no ticket; still a reason.
    let mut r = request("bob.example.com", Action::Stats);
    r.ticket = None;
    assert!(p.decide(&r).allowed);
    r.reason = Some("");
    assert_eq!(p.decide(&r).denials, vec!["reason required".to_owned()]);
    // Asking for a role one does not hold.
    let mut r = request("bob.example.com", Action::Search);
    r.role = Some("investigator");
    assert!(p.decide(&r).denials[0].contains("holds no grant of role investigator"));
}

#[test]
fn bad_policy_and_entity_files_do_not_load() {
    let no_id = "permit (principal, action, resource);";
    assert!(AccessPolicy::load(no_id, ENTITIES).unwrap_err().to_string().contains("no @id"));
    let no_message = r#"@id("x") forbid (principal, action, resource);"#;
    assert!(AccessPolicy::load(no_message, ENTITIES).unwrap_err().to_string().contains("no @message"));
    let unknown_attribute = r#"@id("x") permit (principal, action, resource) when { context.colour == "red" };"#;
    let err = AccessPolicy::load(unknown_attribute, ENTITIES).unwrap_err().to_string();
    assert!(err.contains("do not validate"), "{err}");
    let garbage = "permit (principal";
    assert!(AccessPolicy::load(garbage, ENTITIES).unwrap_err().to_string().contains("does not parse"));
    let bad_entities = r#"[{"uid": {"type": "Wizard", "id": "x"}, "attrs": {}, "parents": []}]"#;
    assert!(AccessPolicy::load(DEFAULT_POLICIES, bad_entities).unwrap_err().to_string().contains("entities"));
    let no_role =
        r#"[{"uid": {"type": "Grant", "id": "g"}, "attrs": {"expires": "2027-01-01T00:00:00Z"}, "parents": []}]"#;
    assert!(AccessPolicy::load(DEFAULT_POLICIES, no_role).unwrap_err().to_string().contains("exactly one Role"));
}
