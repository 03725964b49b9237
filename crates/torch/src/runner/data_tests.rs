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
