//! The `[pruner]` of a study spec, built with what the rest of the spec
//! says about it.
//!
//! The pruners crate sees only the `[pruner]` table. One thing it needs
//! is often written elsewhere: the rung-based rules (`mo-asha`,
//! `hyperband`) need `max_resource`, the step a full trial ends at, and a
//! torch study already says how many epochs a trial reports. So when the
//! table names no `max_resource` and the runner is the torch runner, the
//! longest trial's steps are used: a `train` trial reports each training
//! epoch and then each fine-tuning epoch, a `compress` trial (whose base
//! model is trained once, unreported) only its fine-tuning epochs. Each
//! count is, in this order, the upper bound of an integer parameter of the
//! search space (`epochs`, `finetune_epochs`), the value `[runner.params]`
//! gives every trial, and for the training epochs `[runner] epochs` and
//! then the runner's default of [`TORCH_DEFAULT_EPOCHS`]. A study that
//! reports fewer than two steps, or whose counts cannot be read (a
//! categorical `epochs` of strings, say), and any other runner keep the
//! pruners crate's error, which asks for `max_resource` by name.

use paretosearch_core::space::Distribution;
use paretosearch_core::spec::{PrunerSpec, RunnerSpec, SpecError};
use paretosearch_core::ParamValue;
use paretosearch_core::StudySpec;
use paretosearch_pruners::Pruning;

/// The epochs a torch `train` trial trains when neither `[runner] epochs`
/// nor an `epochs` parameter says (the torch crate's `DEFAULT_EPOCHS`; a
/// test there checks that the two agree: this crate cannot depend on it).
pub const TORCH_DEFAULT_EPOCHS: i64 = 10;

/// Build the `[pruner]` of a spec; a bad option is a located error.
#[allow(clippy::result_large_err)] // the located error of the whole spec API
pub fn build_pruning(spec: &StudySpec) -> Result<Pruning, SpecError> {
    let pruner = spec
        .pruner
        .as_ref()
        .map(|p| with_implied_max_resource(p, spec));
    paretosearch_pruners::build(pruner.as_ref(), &spec.space, &spec.objectives).map_err(|e| {
        spec.origin
            .error_at(&["pruner", e.key()], e.to_string(), None)
    })
}

/// `pruner` with `max_resource` filled in from the runner where the table
/// names none and the runner's epochs are known (see the module
/// documentation).
pub fn with_implied_max_resource(pruner: &PrunerSpec, spec: &StudySpec) -> PrunerSpec {
    let mut out = pruner.clone();
    let rung_based = matches!(pruner.kind.as_str(), "mo-asha" | "hyperband");
    if rung_based && !pruner.options.contains_key("max_resource") {
        if let Some(epochs) = torch_epochs(spec) {
            out.options
                .insert("max_resource".into(), toml::Value::Integer(epochs));
        }
    }
    out
}

/// The most steps a trial of a torch study reports: its training epochs
/// (`train` task only) and its fine-tuning epochs.
fn torch_epochs(spec: &StudySpec) -> Option<i64> {
    let RunnerSpec::Other { kind, options } = &spec.runner else {
        return None;
    };
    if kind != "torch" {
        return None;
    }
    let task = options
        .get("task")
        .and_then(|t| t.as_str())
        .unwrap_or("train");
    let params = options.get("params").and_then(|p| p.as_table());
    // The most a trial can be given of `name`: Some(None) where the study
    // says nothing, None where what it says is not a count.
    let most = |name: &str| -> Option<Option<i64>> {
        if let Some(p) = spec.space.get(name) {
            return match &p.distribution {
                Distribution::Int { high, .. } => Some(Some(*high)),
                Distribution::Categorical { choices } => choices
                    .iter()
                    .map(|c| match c {
                        ParamValue::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect::<Option<Vec<i64>>>()
                    .map(|v| v.into_iter().max()),
                Distribution::Float { .. } => None,
            };
        }
        match params.and_then(|t| t.get(name)) {
            Some(v) => v.as_integer().map(Some),
            None => Some(None),
        }
    };
    let training = match task {
        "train" => match most("epochs")? {
            Some(e) => e,
            None => match options.get("epochs") {
                Some(e) => e.as_integer()?,
                None => TORCH_DEFAULT_EPOCHS,
            },
        },
        "compress" => 0,
        _ => return None,
    };
    let steps = training + most("finetune_epochs")?.unwrap_or(0);
    (steps > 1).then_some(steps)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn spec(pruner: &str, runner: &str, space: &str) -> StudySpec {
        let text = format!(
            "[study]\nname = \"s\"\n\n[[objectives]]\nname = \"accuracy\"\ndirection = \"maximize\"\n\n\
             [search_space]\nlr = {{ type = \"float\", low = 0.001, high = 0.1 }}\n{space}\n\n\
             [pruner]\n{pruner}\n\n[runner]\n{runner}\n\n[budget]\ntrials = 10\n"
        );
        let mut no_includes = |_: &Path| Err::<String, String>("no includes".into());
        StudySpec::parse(&text, Path::new("study.toml"), &mut no_includes).unwrap()
    }

    fn implied(pruner: &str, runner: &str, space: &str) -> Option<i64> {
        let s = spec(pruner, runner, space);
        with_implied_max_resource(s.pruner.as_ref().unwrap(), &s)
            .options
            .get("max_resource")
            .and_then(|v| v.as_integer())
    }

    const TORCH: &str = "kind = \"torch\"\ntask = \"train\"\ndataset = \"digits\"\nepochs = 15";

    #[test]
    fn max_resource_comes_from_the_torch_runners_epochs() {
        assert_eq!(implied("kind = \"mo-asha\"", TORCH, ""), Some(15));
        assert_eq!(
            implied("kind = \"hyperband\"\nmetric = \"accuracy\"", TORCH, ""),
            Some(15)
        );
        // An `epochs` parameter: its upper bound, the longest training.
        let param = "epochs = { type = \"int\", low = 5, high = 40 }";
        assert_eq!(implied("kind = \"mo-asha\"", TORCH, param), Some(40));
        // What the table names wins.
        assert_eq!(
            implied("kind = \"mo-asha\"\nmax_resource = 9", TORCH, ""),
            Some(9)
        );
        // Other kinds are left alone, as are runners whose epochs are unknown.
        assert_eq!(implied("kind = \"dominated\"", TORCH, ""), None);
        let command = "kind = \"command\"\ncommand = [\"python3\", \"train.py\"]";
        assert_eq!(implied("kind = \"mo-asha\"", command, ""), None);
        // A compress study without fine-tuning reports nothing to judge.
        let compress = TORCH.replace("task = \"train\"", "task = \"compress\"");
        assert_eq!(implied("kind = \"mo-asha\"", &compress, ""), None);
        // No epochs written: the torch runner's default.
        let unset = "kind = \"torch\"\ndataset = \"digits\"";
        assert_eq!(
            implied("kind = \"mo-asha\"", unset, ""),
            Some(TORCH_DEFAULT_EPOCHS)
        );
    }

    #[test]
    fn fine_tuning_epochs_are_steps_too() {
        let mo_asha = "kind = \"mo-asha\"";
        let compress = TORCH.replace("task = \"train\"", "task = \"compress\"");
        // A compress trial reports only its fine-tuning epochs: [runner]
        // epochs train the base model, once.
        let fixed = format!("{compress}\n[runner.params]\nfinetune_epochs = 8");
        assert_eq!(implied(mo_asha, &fixed, ""), Some(8));
        let searched = "finetune_epochs = { type = \"int\", low = 0, high = 6 }";
        assert_eq!(implied(mo_asha, &compress, searched), Some(6));
        let choices = "finetune_epochs = { type = \"categorical\", choices = [2, 12, 4] }";
        assert_eq!(implied(mo_asha, &compress, choices), Some(12));
        // A train trial reports its training and then its fine-tuning.
        assert_eq!(implied(mo_asha, TORCH, searched), Some(15 + 6));
        let both = format!("{TORCH}\n[runner.params]\nepochs = 20\nfinetune_epochs = 3");
        assert_eq!(implied(mo_asha, &both, ""), Some(23));
        // Counts it cannot read leave max_resource to the user.
        let words = "epochs = { type = \"categorical\", choices = [\"short\", \"long\"] }";
        assert_eq!(implied(mo_asha, TORCH, words), None);
        let one = format!("{compress}\n[runner.params]\nfinetune_epochs = 1");
        assert_eq!(implied(mo_asha, &one, ""), None);
    }

    #[test]
    fn without_epochs_the_error_names_max_resource() {
        let command = "kind = \"command\"\ncommand = [\"python3\", \"train.py\"]";
        let Err(e) = build_pruning(&spec("kind = \"mo-asha\"", command, "")) else {
            panic!("max_resource is required without the runner's epochs");
        };
        let text = e.to_string();
        assert!(text.contains("max_resource"), "{text}");
        assert!(build_pruning(&spec("kind = \"mo-asha\"", TORCH, "")).is_ok());
    }
}
