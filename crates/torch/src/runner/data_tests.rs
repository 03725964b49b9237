//! The user's data files through the study file: an image folder and an
//! npz archive read by `[runner] dataset`, trained on by a model family.

use paretosearch_core::{ParamValue, TrialOutcome};
use paretosearch_runner::Runner;
use tch::{Device, Kind, Tensor};
use tokio_util::sync::CancellationToken;

use super::tests::{build, job, OBJ};
use crate::data;

const RUN: &str = "device = \"cpu\"\nepochs = 2\nlatency_repeats = 3\nlatency_warmup = 1";

async fn complete(r: &super::TorchRunner) -> std::collections::BTreeMap<String, f64> {
    let params = [("width_mult", ParamValue::Float(0.5))];
    match r
        .run(
            job(&params, &OBJ),
            &paretosearch_runner::NoReporter,
            CancellationToken::new(),
        )
        .await
    {
        TrialOutcome::Complete(v) => v,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn image_folders_and_npz_files_are_studied_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // 60 digits as 8x8 PNGs in two class folders (even and odd labels).
    let d = data::load_digits().unwrap();
    for i in 0..60i64 {
        let label = d.y.int64_value(&[i]);
        let px = (d.x.get(i).squeeze() * 255.0).to_kind(Kind::Uint8);
        let px = Vec::<u8>::try_from(px.flatten(0, -1)).unwrap();
        let class = dir.path().join(if label % 2 == 0 { "even" } else { "odd" });
        std::fs::create_dir_all(&class).unwrap();
        image::GrayImage::from_raw(8, 8, px)
            .unwrap()
            .save(class.join(format!("{i}.png")))
            .unwrap();
    }
    let space = "width_mult = { type = \"float\", low = 0.25, high = 1.0 }";
    let runner = format!(
        "{RUN}\nmodel = \"resnet\"\ndataset = {{ kind = \"image-folder\", dir = \"{}\" }}\n[runner.params]\nchannels = 4\nstages = 1\naugment_crop = 1\naugment_flip = true",
        dir.path().display()
    );
    let v = complete(&build(&runner, space, &OBJ).unwrap()).await;
    assert!(v["accuracy"] >= 0.0 && v["size_bytes"] > 0.0, "{v:?}");

    let npz = dir.path().join("d.npz");
    let x = d.x.narrow(0, 0, 100).to_device(Device::Cpu);
    let y = d.y.narrow(0, 0, 100);
    Tensor::write_npz(&[("images", &x), ("labels", &y)], &npz).unwrap();
    let runner = format!(
        "{RUN}\nmodel = \"mobilenet\"\ndataset = {{ kind = \"npz\", path = \"{}\", x = \"images\", y = \"labels\" }}\n[runner.params]\nstages = 1",
        npz.display()
    );
    let v = complete(&build(&runner, space, &OBJ).unwrap()).await;
    assert!(v["accuracy"] >= 0.0, "{v:?}");
    // A wrong array name is a located error naming the file.
    let bad = runner.replace("x = \"images\"", "x = \"pixels\"");
    let e = build(&bad, space, &OBJ).err().unwrap();
    assert!(
        e.line.is_some() && e.to_string().contains("`pixels`"),
        "{e}"
    );
}

#[test]
fn an_explicit_validation_set_replaces_the_held_out_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |n: usize, shift: f64| {
        let mut t = String::from("a,b,y\n");
        for i in 0..n {
            let (a, y) = (i as f64 + shift, i % 2);
            t.push_str(&format!("{a},{},{y}\n", 2.0 * a));
        }
        t
    };
    std::fs::write(dir.path().join("train.csv"), rows(40, 0.0)).unwrap();
    std::fs::write(dir.path().join("valid.csv"), rows(7, 0.5)).unwrap();
    std::fs::write(dir.path().join("wide.csv"), "a,b,c,y\n1,2,3,0\n4,5,6,1\n").unwrap();
    std::fs::write(dir.path().join("one.csv"), "a,b,y\n1,2,0\n4,5,0\n").unwrap();
    let runner = |valid: &str| {
        format!(
            "{RUN}\ndataset = {{ kind = \"csv\", path = \"{}\", label = \"y\" }}\n{valid}",
            dir.path().join("train.csv").display()
        )
    };
    let space = "width = { type = \"int\", low = 4, high = 8 }";
    let path = |f: &str| dir.path().join(f).display().to_string();
    let r = build(
        &runner(&format!("valid = \"{}\"", path("valid.csv"))),
        space,
        &OBJ,
    )
    .unwrap();
    let split = r.inner.data_on(Device::Cpu);
    assert_eq!((split.train.len(), split.valid.len()), (40, 7));
    // Standardised with the training rows' statistics: train column a has mean 19.5.
    let mean_a = split
        .valid
        .x
        .narrow(1, 0, 1)
        .mean(Kind::Float)
        .double_value(&[]);
    let sd = (0..40).map(|i| (i as f64 - 19.5).powi(2)).sum::<f64>() / 40.0; // population std, as split uses
    assert!((mean_a - (3.5 - 19.5) / sd.sqrt()).abs() < 1e-4, "{mean_a}");
    // A table works too, and mistakes are located.
    let table = format!(
        "valid = {{ kind = \"csv\", path = \"{}\", label = \"y\" }}",
        path("valid.csv")
    );
    assert!(build(&runner(&table), space, &OBJ).is_ok());
    let e = build(
        &runner(&format!("valid = \"{}\"", path("wide.csv"))),
        space,
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(
        e.field.contains("valid") && e.to_string().contains("shape"),
        "{e}"
    );
    let e = build(
        &runner(&format!("valid = \"{}\"", path("one.csv"))),
        space,
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(e.field.contains("valid"), "{e}");
    let both = format!("valid = \"{}\"\nvalid_fraction = 0.3", path("valid.csv"));
    let e = build(&runner(&both), space, &OBJ).err().unwrap();
    assert!(e.to_string().contains("no rows are held out"), "{e}");
}
