//! Who may read what: a Cedar policy (`cedar-policy`) over staff, their
//! time-boxed grants and roles, decided per request with its context
//! (action, reason, ticket, time range, fields filtered on and returned).
//!
//! The schema is fixed ([`SCHEMA`]); the policies and the entities (staff,
//! grants, roles) are the operator's files, with [`DEFAULT_POLICIES`] as
//! the starting point. Every policy carries an `@id`, every `forbid` a
//! `@message`: a denied request is told every message of every forbid that
//! applied ("reason required", "grant g-1 expired at …", "role analyst may
//! not filter on client_ip"). A policy that fails to evaluate denies the
//! request (Cedar skips it, which for a `forbid` would allow).

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect, Entities, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, Schema, ValidationMode, Validator,
};
use logseal_core::timefmt::{format_rfc3339_utc, parse_rfc3339};
use serde_json::{Value, json};

use crate::{Error, Result};

/// The schema every policy and entity file is checked against.
pub const SCHEMA: &str = include_str!("../policy/schema.cedarschema");
/// The default policy (DESIGN.md §5 roles).
pub const DEFAULT_POLICIES: &str = include_str!("../policy/default.cedar");

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Rows.
    Search,
    /// Aggregates.
    Stats,
    /// The access-audit trail.
    ReadAudit,
}

impl Action {
    /// The Cedar action name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::Stats => "stats",
            Action::ReadAudit => "read_audit",
        }
    }
}

/// A request to decide.
#[derive(Debug, Clone)]
pub struct AccessRequest<'a> {
    /// The identity of the client certificate.
    pub principal: &'a str,
    /// What it wants.
    pub action: Action,
    /// The role to act in (else the principal's grant that is valid
    /// longest, or its only one).
    pub role: Option<&'a str>,
    /// Why.
    pub reason: Option<&'a str>,
    /// The ticket it is for.
    pub ticket: Option<&'a str>,
    /// The time range asked for (microseconds).
    pub from_us: i64,
    /// The time range asked for (microseconds, exclusive).
    pub to_us: i64,
    /// Now (microseconds).
    pub now_us: i64,
    /// Columns the filters read.
    pub filter_fields: &'a [&'a str],
    /// Columns returned.
    pub return_fields: &'a [&'a str],
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// The role of the grant used.
    pub role: Option<String>,
    /// The grant used.
    pub grant: Option<String>,
    /// The ids of the policies that decided.
    pub policies: Vec<String>,
    /// What is missing, one message per reason (empty when allowed).
    pub denials: Vec<String>,
}

impl Decision {
    fn deny(message: String) -> Decision {
        Decision { allowed: false, role: None, grant: None, policies: Vec::new(), denials: vec![message] }
    }
}

/// A grant as the server picks among them.
#[derive(Debug, Clone)]
struct Grant {
    id: String,
    role: String,
    expires: String,
    expires_us: i64,
}

/// A loaded, validated policy with its entities.
pub struct AccessPolicy {
    schema: Schema,
    policies: PolicySet,
    entities: Entities,
    grants: HashMap<String, Vec<Grant>>,
}

impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessPolicy({} principals)", self.grants.len())
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidQuery(format!("{what}: {e}"))
}

fn schema() -> Result<Schema> {
    Schema::from_cedarschema_str(SCHEMA).map(|(s, _warnings)| s).map_err(|e| invalid("the built-in schema", e))
}

fn uid(kind: &str, id: &str) -> Result<EntityUid> {
    let kind = EntityTypeName::from_str(kind).map_err(|e| invalid("entity type", e))?;
    Ok(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
}

/// A Cedar `datetime` (millisecond precision) of `micros`.
fn cedar_datetime(micros: i64) -> Value {
    let text = format_rfc3339_utc(micros); // 2026-11-28T10:00:00.000000Z
    let millis = format!("{}Z", &text[..text.len().saturating_sub(4)]);
    json!({ "__extn": { "fn": "datetime", "arg": millis } })
}

impl AccessPolicy {
    /// Parses and validates `policies` (Cedar) and `entities` (Cedar
    /// entity JSON) against the schema: every policy needs an `@id`, every
    /// `forbid` a `@message`.
    pub fn load(policies: &str, entities: &str) -> Result<AccessPolicy> {
        let schema = schema()?;
        let parsed = PolicySet::from_str(policies).map_err(|e| invalid("the policy file does not parse", e))?;
        let mut set = PolicySet::new();
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                return Err(Error::InvalidQuery(format!("a policy has no @id annotation:\n{policy}")));
            };
            if policy.effect() == Effect::Forbid && policy.annotation("message").is_none() {
                return Err(Error::InvalidQuery(format!("forbid policy {id:?} has no @message annotation")));
            }
            set.add(policy.new_id(PolicyId::new(id))).map_err(|e| invalid(&format!("policy {id:?}"), e))?;
        }
        let validation = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if !validation.validation_passed() {
            let errors: Vec<String> = validation.validation_errors().map(|e| format!("  {e}")).collect();
            return Err(Error::InvalidQuery(format!(
                "the policies do not validate against the schema:\n{}",
                errors.join("\n")
            )));
        }
        let parsed_entities =
            Entities::from_json_str(entities, Some(&schema)).map_err(|e| invalid("the entities file", e))?;
        let grants = grants_of(entities)?;
        Ok(AccessPolicy { schema, policies: set, entities: parsed_entities, grants })
    }

    /// The ids of the policies, and how many principals hold grants.
    pub fn summary(&self) -> (Vec<String>, usize) {
        (self.policies.policies().map(|p| p.id().to_string()).collect(), self.grants.len())
    }

    /// Decides `request`.
    pub fn decide(&self, request: &AccessRequest<'_>) -> Decision {
        match self.try_decide(request) {
            Ok(decision) => decision,
            Err(e) => Decision::deny(format!("the request could not be decided: {e}")),
        }
    }

    fn try_decide(&self, r: &AccessRequest<'_>) -> Result<Decision> {
        let Some(held) = self.grants.get(r.principal) else {
            return Ok(Decision::deny(format!("{:?} holds no grant (unknown certificate identity)", r.principal)));
        };
        let candidates: Vec<&Grant> = held.iter().filter(|g| r.role.is_none_or(|role| g.role == role)).collect();
        // The grant valid longest; if none is valid, the one that expired
        // last (so that the denial can say when).
        let Some(grant) = candidates.iter().max_by_key(|g| g.expires_us).copied() else {
            return Ok(Decision::deny(format!(
                "{:?} holds no grant of role {}",
                r.principal,
                r.role.unwrap_or("(any)")
            )));
        };
        let action = uid("Action", r.action.name())?;
        let mut context = json!({
            "grant": { "__entity": { "type": "Grant", "id": grant.id } },
            "now": cedar_datetime(r.now_us),
            "from": cedar_datetime(r.from_us),
            "to": cedar_datetime(r.to_us),
            "filter_fields": r.filter_fields,
            "return_fields": r.return_fields,
        });
        if let Some(reason) = r.reason {
            context["reason"] = reason.into();
        }
        if let Some(ticket) = r.ticket {
            context["ticket"] = ticket.into();
        }
        let context =
            Context::from_json_value(context, Some((&self.schema, &action))).map_err(|e| invalid("context", e))?;
        let request =
            Request::new(uid("Staff", r.principal)?, action, uid("Archive", "main")?, context, Some(&self.schema))
                .map_err(|e| invalid("request", e))?;
        let response = Authorizer::new().is_authorized(&request, &self.policies, &self.entities);
        let policies: Vec<String> = response.diagnostics().reason().map(|id| id.to_string()).collect();
        let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        let mut decision = Decision {
            allowed: false,
            role: Some(grant.role.clone()),
            grant: Some(grant.id.clone()),
            policies: policies.clone(),
            denials: Vec::new(),
        };
        if !errors.is_empty() {
            decision.denials = errors.iter().map(|e| format!("a policy failed to evaluate: {e}")).collect();
            return Ok(decision);
        }
        match response.decision() {
            CedarDecision::Allow => decision.allowed = true,
            CedarDecision::Deny if policies.is_empty() => {
                decision.denials = vec![format!("no policy permits {} for role {}", r.action.name(), grant.role)];
            }
            CedarDecision::Deny => {
                decision.denials = policies
                    .iter()
                    .map(|id| {
                        self.policies
                            .annotation(&PolicyId::new(id), "message")
                            .unwrap_or(id)
                            .replace("{grant}", &grant.id)
                            .replace("{role}", &grant.role)
                            .replace("{expires}", &grant.expires)
                    })
                    .collect();
            }
        }
        Ok(decision)
    }
}

/// Staff → their grants (role, expiry), from the entities JSON.
fn grants_of(entities: &str) -> Result<HashMap<String, Vec<Grant>>> {
    let list: Vec<Value> = serde_json::from_str(entities).map_err(|e| invalid("the entities file", e))?;
    let kind = |e: &Value| e["uid"]["type"].as_str().unwrap_or("").to_owned();
    let id = |e: &Value| e["uid"]["id"].as_str().unwrap_or("").to_owned();
    let parents = |e: &Value, of: &str| -> Vec<String> {
        e["parents"]
            .as_array()
            .map(|ps| {
                ps.iter().filter(|p| p["type"] == of).filter_map(|p| p["id"].as_str().map(str::to_owned)).collect()
            })
            .unwrap_or_default()
    };
    let mut grants = HashMap::new();
    for e in list.iter().filter(|e| kind(e) == "Grant") {
        let expires = match &e["attrs"]["expires"] {
            Value::String(s) => s.clone(),
            other => other["__extn"]["arg"].as_str().unwrap_or("").to_owned(),
        };
        let expires_us = parse_rfc3339(&expires)
            .or_else(|| parse_rfc3339(&format!("{expires}T00:00:00Z")))
            .map(|(us, _)| us)
            .ok_or_else(|| Error::InvalidQuery(format!("grant {:?}: expires {expires:?} is not a date-time", id(e))))?;
        let roles = parents(e, "Role");
        let [role] = &roles[..] else {
            return Err(Error::InvalidQuery(format!("grant {:?} must have exactly one Role parent", id(e))));
        };
        grants.insert(id(e), Grant { id: id(e), role: role.clone(), expires, expires_us });
    }
    let mut staff: HashMap<String, Vec<Grant>> = HashMap::new();
    for e in list.iter().filter(|e| kind(e) == "Staff") {
        let held = parents(e, "Grant").iter().filter_map(|g| grants.get(g).cloned()).collect();
        staff.insert(id(e), held);
    }
    Ok(staff)
}
