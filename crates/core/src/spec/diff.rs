//! What changed between the spec a study was stored with and a study
//! file, in the words of the file: a stored study refuses a file whose
//! search space or objectives differ, and the refusal names the change
//! rather than two fingerprints.

use serde_json::{Map, Value};

/// The changes to the search space and objectives from the spec JSON a
/// study was stored with (`stored`, [`StudySpec::to_json`]) to the one of
/// a file (`given`), one sentence each: ``parameter `x9`: high 1.0 → 2.0``,
/// ``parameter `lr` removed``, ``objective `f2` added``, ``objective `f1`:
/// direction minimize → maximize``, ``objectives reordered: f1, f2 → f2,
/// f1``. Only what [`StudySpec::fingerprint`] covers is compared (every
/// field of a parameter; an objective's name, direction and place), so
/// constraints, budget, sampler and runner never appear. Empty when
/// nothing of that differs or a document cannot be read (a record written
/// by another version).
///
/// [`StudySpec::to_json`]: super::StudySpec::to_json
/// [`StudySpec::fingerprint`]: super::StudySpec::fingerprint
pub fn describe_changes(stored: &str, given: &str) -> Vec<String> {
    let (Ok(old), Ok(new)) = (
        serde_json::from_str::<Value>(stored),
        serde_json::from_str::<Value>(given),
    ) else {
        return Vec::new();
    };
    let mut out = space_changes(&old["search_space"], &new["search_space"]);
    out.extend(objective_changes(&old["objectives"], &new["objectives"]));
    out
}

/// `(name, fields)` of each parameter, fields flattened: the
/// distribution's (`type`, `low`, `high`, `log`, `step`, `choices`) with
/// `when` and `monotone`.
fn params(space: &Value) -> Option<Vec<(String, Map<String, Value>)>> {
    let mut out = Vec::new();
    for p in space.as_array()? {
        let p = p.as_object()?;
        let name = p.get("name")?.as_str()?.to_string();
        let mut fields = Map::new();
        for (k, v) in p {
            match (k.as_str(), v) {
                ("name", _) => {}
                ("distribution", Value::Object(d)) => {
                    fields.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    fields.insert(k.clone(), v.clone());
                }
            }
        }
        out.push((name, fields));
    }
    Some(out)
}

/// A value as the study file writes it: strings bare, the rest as JSON.
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn space_changes(old: &Value, new: &Value) -> Vec<String> {
    let (Some(old), Some(new)) = (params(old), params(new)) else {
        return Vec::new();
    };
    let find = |ps: &[(String, Map<String, Value>)], name: &str| {
        ps.iter().find(|(n, _)| n == name).map(|(_, f)| f.clone())
    };
    let mut out = Vec::new();
    for (name, before) in &old {
        let Some(after) = find(&new, name) else {
            out.push(format!("parameter `{name}` removed"));
            continue;
        };
        // The type first, then the other fields in a fixed order.
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort_by_key(|k| (k.as_str() != "type", k.as_str()));
        keys.dedup();
        let changed: Vec<String> = keys
            .into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| format!("{k} {} → {}", show(before.get(k)), show(after.get(k))))
            .collect();
        if !changed.is_empty() {
            out.push(format!("parameter `{name}`: {}", changed.join(", ")));
        }
    }
    for (name, _) in &new {
        if find(&old, name).is_none() {
            out.push(format!("parameter `{name}` added"));
        }
    }
    out
}

/// `(name, direction)` of each objective, in order.
fn objectives(v: &Value) -> Option<Vec<(String, String)>> {
    v.as_array()?
        .iter()
        .map(|o| {
            Some((
                o.get("name")?.as_str()?.to_string(),
                show(o.get("direction")),
            ))
        })
        .collect()
}

fn objective_changes(old: &Value, new: &Value) -> Vec<String> {
    let (Some(old), Some(new)) = (objectives(old), objectives(new)) else {
        return Vec::new();
    };
    let direction = |os: &[(String, String)], name: &str| {
        os.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
    };
    let mut out = Vec::new();
    for (name, before) in &old {
        match direction(&new, name) {
            None => out.push(format!("objective `{name}` removed")),
            Some(after) if &after != before => {
                out.push(format!("objective `{name}`: direction {before} → {after}"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &new {
        if direction(&old, name).is_none() {
            out.push(format!("objective `{name}` added"));
        }
    }
    // Same objectives in another order: stored values are compared by
    // place, so that changes the study too.
    let names = |os: &[(String, String)]| os.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let (a, b) = (names(&old), names(&new));
    if out.is_empty() && a != b {
        out.push(format!(
            "objectives reordered: {} → {}",
            a.join(", "),
            b.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(space: Value, objectives: Value) -> String {
        json!({ "search_space": space, "objectives": objectives, "budget": { "trials": 3 } })
            .to_string()
    }

    fn float(name: &str, low: f64, high: f64) -> Value {
        json!({ "name": name, "distribution": { "type": "float", "low": low, "high": high, "log": false } })
    }

    fn obj(name: &str, direction: &str) -> Value {
        json!({ "name": name, "direction": direction, "cheap": false })
    }

    #[test]
    fn names_each_change_in_the_files_words() {
        let old = spec(
            json!([float("x9", 0.0, 1.0), float("lr", 1e-5, 0.1)]),
            json!([obj("f1", "minimize")]),
        );
        let new = spec(
            json!([
                float("x9", 0.0, 2.0),
                json!({ "name": "w", "distribution": { "type": "int", "low": 1, "high": 4, "log": false, "step": 1 } })
            ]),
            json!([obj("f1", "maximize"), obj("f2", "minimize")]),
        );
        assert_eq!(
            describe_changes(&old, &new),
            vec![
                "parameter `x9`: high 1.0 → 2.0",
                "parameter `lr` removed",
                "parameter `w` added",
                "objective `f1`: direction minimize → maximize",
                "objective `f2` added",
            ]
        );
    }

    #[test]
    fn type_first_and_missing_fields_shown_as_none() {
        let old = spec(json!([float("x", 0.0, 1.0)]), json!([]));
        let p = json!({ "name": "x", "distribution": { "type": "int", "low": 0, "high": 1, "log": false, "step": 1 }, "monotone": "increasing" });
        let new = spec(json!([p]), json!([]));
        assert_eq!(
            describe_changes(&old, &new),
            vec!["parameter `x`: type float → int, high 1.0 → 1, low 0.0 → 0, monotone (none) → increasing, step (none) → 1"]
        );
        let same = spec(json!([float("x", 0.0, 1.0)]), json!([]));
        assert!(describe_changes(&old, &same).is_empty());
    }

    #[test]
    fn reordered_objectives_and_unreadable_records() {
        let old = spec(
            json!([]),
            json!([obj("a", "minimize"), obj("b", "minimize")]),
        );
        let new = spec(
            json!([]),
            json!([obj("b", "minimize"), obj("a", "minimize")]),
        );
        assert_eq!(
            describe_changes(&old, &new),
            vec!["objectives reordered: a, b → b, a"]
        );
        // Constraints and other tables are not part of the comparison.
        let constrained = spec(
            json!([]),
            json!([{ "name": "a", "direction": "minimize", "constraint": { "max": 1.0 } }, obj("b", "minimize")]),
        );
        assert!(describe_changes(&old, &constrained).is_empty());
        assert!(describe_changes("{\"v\":1}", &new).is_empty());
        assert!(describe_changes("not json", &new).is_empty());
    }
}
