//! Which parameters one Parzen estimator models jointly.

use paretosearch_core::{Distribution, SearchSpace};

/// Parameter groups, each a list of parameter indices, in parent-first
/// order of their first member.
///
/// * multivariate with `group`: parameters with the same effective
///   conditions (their own and their ancestors') are always active
///   together and share a group;
/// * multivariate without `group`: the unconditional parameters form one
///   group, each conditional one is alone;
/// * univariate: every parameter alone, except that with
///   `joint_categorical` the categorical parameters with the same effective
///   conditions share a group (numeric ones stay alone).
pub(crate) fn parameter_groups(
    space: &SearchSpace,
    multivariate: bool,
    group: bool,
    joint_categorical: bool,
) -> Vec<Vec<usize>> {
    let params = space.params();
    let mut effective: Vec<Vec<String>> = Vec::with_capacity(params.len());
    for p in params {
        let mut key: Vec<String> = Vec::new();
        for c in &p.when {
            let values: Vec<String> = c.values.iter().map(|v| v.to_json().to_string()).collect();
            key.push(format!("{}={}", c.parent, values.join("|")));
            if let Some(j) = space.index_of(&c.parent) {
                key.extend(effective[j].iter().cloned());
            }
        }
        key.sort();
        key.dedup();
        effective.push(key);
    }
    // A parameter that may share a group has a key; in the univariate
    // case only categorical ones do (with `joint_categorical`).
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut keys: Vec<Option<&Vec<String>>> = Vec::new();
    for (i, key) in effective.iter().enumerate() {
        let categorical = matches!(params[i].distribution, Distribution::Categorical { .. });
        let joint = if multivariate {
            group || key.is_empty()
        } else {
            joint_categorical && categorical
        };
        let key = joint.then_some(key);
        match key.and_then(|k| keys.iter().position(|other| *other == Some(k))) {
            Some(g) => groups[g].push(i),
            None => {
                groups.push(vec![i]);
                keys.push(key);
            }
        }
    }
    groups
}
