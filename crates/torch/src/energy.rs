//! GPU energy through NVIDIA's NVML: the `energy_joules` (training) and
//! `inference_energy_joules` (per inference batch) objectives, the
//! trade-off the Zeus paper optimises.
//!
//! ## Counters, not power samples
//!
//! Volta and newer GPUs keep a cumulative energy counter (millijoules since
//! the driver was loaded, `nvmlDeviceGetTotalEnergyConsumption`). Reading
//! it before and after a piece of work, with the GPU synchronised, gives
//! that work's energy without a sampling thread. The accounting
//! ([`counter_delta_mj`], [`measure`], [`per_batch`]) is written against
//! the [`EnergyCounter`] trait so that it is tested without a GPU.
//!
//! The counter is per GPU: anything else running on that GPU during the
//! measurement (another trial, another process) is counted too. The runner
//! therefore refuses energy objectives with `trials_per_gpu > 1`; other
//! processes on the GPU are the user's to avoid. The counter's update
//! period is a few milliseconds, so short latency runs give coarse
//! inference energies: raise `latency_repeats` for a finer figure.
//!
//! ## Which NVML device is `cuda:N`
//!
//! NVML numbers GPUs in PCI bus order and ignores `CUDA_VISIBLE_DEVICES`;
//! CUDA numbers the visible GPUs, by default fastest first. The rule
//! ([`nvml_target`]):
//!
//! - `CUDA_VISIBLE_DEVICES` unset: `cuda:N` is NVML device `N`;
//! - set to indices (`"2,0"`): `cuda:N` is NVML device at the `N`-th entry;
//! - set to UUIDs (`"GPU-8f2…"`): `cuda:N` is the NVML device with the
//!   `N`-th entry's UUID (an exact match, so order cannot go wrong);
//! - MIG instances (`"MIG-…"`) are refused: the counter belongs to the
//!   whole GPU.
//!
//! Index rules assume CUDA and NVML order GPUs the same way, which holds
//! when the machine's GPUs are all of one model or
//! `CUDA_DEVICE_ORDER=PCI_BUS_ID` is set; with GPUs of different models
//! and no `PCI_BUS_ID` order the runner refuses energy objectives and says
//! to set it (or to list UUIDs in `CUDA_VISIBLE_DEVICES`).

use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;

use crate::error::TorchError;

/// A cumulative energy counter in millijoules.
pub trait EnergyCounter {
    /// The counter's current reading (mJ).
    fn millijoules(&self) -> Result<u64, TorchError>;
}

/// Millijoules between two readings of a cumulative counter. A wrap past
/// `u64::MAX` (a reading in the upper half of the range followed by one
/// below it) is accounted modulo 2^64; any other decrease means the
/// counter was reset (driver reload) during the measurement and gives
/// `None`.
pub fn counter_delta_mj(before: u64, after: u64) -> Option<u64> {
    if after >= before {
        Some(after - before)
    } else if before > u64::MAX / 2 && after < u64::MAX / 2 {
        Some(after.wrapping_sub(before))
    } else {
        None
    }
}

/// Run `work` between two readings of `counter`; returns its result and
/// the energy it took in joules.
pub fn measure<C: EnergyCounter + ?Sized, R>(
    counter: &C,
    work: impl FnOnce() -> R,
) -> Result<(R, f64), TorchError> {
    let before = counter.millijoules()?;
    let out = work();
    let after = counter.millijoules()?;
    let mj = counter_delta_mj(before, after).ok_or_else(|| {
        TorchError::Device(format!(
            "the GPU energy counter went back from {before} mJ to {after} mJ during the measurement (driver reloaded?)"
        ))
    })?;
    Ok((out, mj as f64 / 1e3))
}

/// Energy per batch: `joules` over `batches` batches (NaN for none).
pub fn per_batch(joules: f64, batches: usize) -> f64 {
    if batches == 0 {
        f64::NAN
    } else {
        joules / batches as f64
    }
}

/// How a CUDA device is found among NVML's devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NvmlTarget {
    /// By NVML index.
    Index(u32),
    /// By UUID (`GPU-…`).
    Uuid(String),
}

/// The NVML device of `cuda:<cuda_index>` under the given
/// `CUDA_VISIBLE_DEVICES` (see the module docs for the rule).
pub fn nvml_target(cuda_index: usize, visible: Option<&str>) -> Result<NvmlTarget, String> {
    let Some(visible) = visible else {
        return u32::try_from(cuda_index)
            .map(NvmlTarget::Index)
            .map_err(|_| format!("cuda:{cuda_index} is out of range"));
    };
    let entries: Vec<&str> = visible
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let entry = entries.get(cuda_index).ok_or_else(|| {
        format!("cuda:{cuda_index} is not among CUDA_VISIBLE_DEVICES=\"{visible}\"")
    })?;
    if entry.starts_with("MIG-") {
        return Err(format!(
            "cuda:{cuda_index} is the MIG instance {entry}; NVML's energy counter belongs to the whole GPU"
        ));
    }
    if entry.starts_with("GPU-") {
        return Ok(NvmlTarget::Uuid(entry.to_string()));
    }
    entry
        .parse()
        .map(NvmlTarget::Index)
        .map_err(|_| format!("cannot read CUDA_VISIBLE_DEVICES entry `{entry}`"))
}

/// Why energy cannot be measured, for the located config error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnergyUnavailable {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// NVML, initialised, with the NVML device of each CUDA device the runner
/// uses; every one checked to have a readable energy counter.
pub struct GpuEnergy {
    nvml: Nvml,
    targets: Vec<(usize, NvmlTarget)>,
}

impl std::fmt::Debug for GpuEnergy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuEnergy")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

fn unavailable(message: String, help: &str) -> EnergyUnavailable {
    EnergyUnavailable {
        message,
        help: help.to_string(),
    }
}

impl GpuEnergy {
    /// Load NVML and check that every CUDA device in `cuda_devices` maps
    /// to an NVML device whose energy counter can be read.
    pub fn open(cuda_devices: &[usize]) -> Result<GpuEnergy, EnergyUnavailable> {
        let nvml = Nvml::init().map_err(|e| {
            let (what, help) = match e {
                NvmlError::LibloadingError(_) | NvmlError::LibraryNotFound => (
                    "NVIDIA's NVML library (libnvidia-ml.so.1) was not found",
                    "install the NVIDIA driver, or drop the energy objectives",
                ),
                NvmlError::DriverNotLoaded => (
                    "the NVIDIA driver is not loaded",
                    "load the driver (nvidia-smi should list the GPU), or drop the energy objectives",
                ),
                NvmlError::NoPermission => (
                    "NVML has no permission to talk to the driver",
                    "run as a user allowed to use the GPU, or drop the energy objectives",
                ),
                _ => (
                    "NVML could not be initialised",
                    "check `nvidia-smi`, or drop the energy objectives",
                ),
            };
            unavailable(format!("{what} ({e})"), help)
        })?;
        let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
        let ordered = std::env::var("CUDA_DEVICE_ORDER").is_ok_and(|o| o == "PCI_BUS_ID");
        let mut targets = Vec::new();
        for &cuda in cuda_devices {
            let target = nvml_target(cuda, visible.as_deref()).map_err(|m| {
                unavailable(
                    m,
                    "list whole GPUs (indices or GPU- UUIDs) in CUDA_VISIBLE_DEVICES",
                )
            })?;
            if matches!(target, NvmlTarget::Index(_)) && !ordered && !one_model(&nvml) {
                return Err(unavailable(
                    "this machine has GPUs of different models, so CUDA's default (fastest first) order may differ from NVML's".into(),
                    "set CUDA_DEVICE_ORDER=PCI_BUS_ID, or list GPU UUIDs in CUDA_VISIBLE_DEVICES",
                ));
            }
            targets.push((cuda, target));
        }
        let energy = GpuEnergy { nvml, targets };
        for &cuda in cuda_devices {
            let reading = energy.counter(cuda).and_then(|c| c.millijoules());
            if let Err(e) = reading {
                return Err(unavailable(
                    format!("cannot read the energy counter of cuda:{cuda}: {e}"),
                    "energy counters need a Volta or newer data-centre or workstation GPU; drop the energy objectives on this one",
                ));
            }
        }
        Ok(energy)
    }

    /// The energy counter of `cuda:<cuda>`.
    pub fn counter(&self, cuda: usize) -> Result<NvmlCounter<'_>, TorchError> {
        let target = self
            .targets
            .iter()
            .find(|(c, _)| *c == cuda)
            .map(|(_, t)| t)
            .ok_or_else(|| TorchError::Device(format!("cuda:{cuda} has no NVML device")))?;
        let device = match target {
            NvmlTarget::Index(i) => self.nvml.device_by_index(*i),
            NvmlTarget::Uuid(u) => self.nvml.device_by_uuid(u.as_str()),
        }
        .map_err(|e| TorchError::Device(format!("NVML device of cuda:{cuda} ({target:?}): {e}")))?;
        Ok(NvmlCounter { device })
    }
}

/// Do all NVML devices have the same name (then any order maps a model to
/// the same model)?
fn one_model(nvml: &Nvml) -> bool {
    let Ok(count) = nvml.device_count() else {
        return false;
    };
    let names: Result<Vec<String>, _> = (0..count)
        .map(|i| nvml.device_by_index(i).and_then(|d| d.name()))
        .collect();
    names.is_ok_and(|n| n.windows(2).all(|w| w[0] == w[1]))
}

/// One GPU's NVML energy counter.
pub struct NvmlCounter<'a> {
    device: nvml_wrapper::Device<'a>,
}

impl EnergyCounter for NvmlCounter<'_> {
    fn millijoules(&self) -> Result<u64, TorchError> {
        self.device
            .total_energy_consumption()
            .map_err(|e| TorchError::Device(format!("NVML energy counter: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A counter that advances by `step` mJ per reading, from `start`.
    struct Fake {
        next: Cell<u64>,
        step: u64,
        fail: bool,
    }

    impl EnergyCounter for Fake {
        fn millijoules(&self) -> Result<u64, TorchError> {
            if self.fail {
                return Err(TorchError::Device("no counter".into()));
            }
            let v = self.next.get();
            self.next.set(v.wrapping_add(self.step));
            Ok(v)
        }
    }

    fn fake(start: u64, step: u64) -> Fake {
        Fake {
            next: Cell::new(start),
            step,
            fail: false,
        }
    }

    #[test]
    fn differences_of_readings_and_wrap_around() {
        assert_eq!(counter_delta_mj(1_000, 3_500), Some(2_500));
        assert_eq!(counter_delta_mj(7, 7), Some(0));
        // Across u64::MAX: 10 mJ before the top, 5 after.
        assert_eq!(counter_delta_mj(u64::MAX - 9, 5), Some(15));
        // A reset (driver reload) is not a wrap.
        assert_eq!(counter_delta_mj(5_000, 100), None);
    }

    #[test]
    fn measure_reads_around_the_work_and_converts_to_joules() {
        let c = fake(40_000, 2_500);
        let mut ran = false;
        let (out, joules) = measure(&c, || {
            ran = true;
            7
        })
        .unwrap();
        assert!(ran);
        assert_eq!((out, joules), (7, 2.5));
        // Wrapping counter.
        let c = fake(u64::MAX - 499, 1_000);
        assert_eq!(measure(&c, || ()).unwrap().1, 1.0);
        // A counter that goes back is an error, not a huge figure.
        struct Back(Cell<u64>);
        impl EnergyCounter for Back {
            fn millijoules(&self) -> Result<u64, TorchError> {
                let v = self.0.get();
                self.0.set(v / 2);
                Ok(v)
            }
        }
        let e = measure(&Back(Cell::new(8_000)), || ()).unwrap_err();
        assert!(e.to_string().contains("went back"), "{e}");
        let broken = Fake {
            fail: true,
            ..fake(0, 1)
        };
        assert!(measure(&broken, || ()).is_err());
    }

    #[test]
    fn per_batch_divides_by_the_timed_batches() {
        let c = fake(0, 3_000);
        let (_, joules) = measure(&c, || ()).unwrap();
        assert_eq!(per_batch(joules, 50), 0.06);
        assert!(per_batch(joules, 0).is_nan());
    }

    #[test]
    fn cuda_indices_map_to_nvml_devices() {
        assert_eq!(nvml_target(1, None), Ok(NvmlTarget::Index(1)));
        assert_eq!(nvml_target(0, Some("2, 0")), Ok(NvmlTarget::Index(2)));
        assert_eq!(nvml_target(1, Some("2,0")), Ok(NvmlTarget::Index(0)));
        assert_eq!(
            nvml_target(0, Some("GPU-8f2a")),
            Ok(NvmlTarget::Uuid("GPU-8f2a".into()))
        );
        assert!(nvml_target(2, Some("0,1")).unwrap_err().contains("cuda:2"));
        assert!(nvml_target(0, Some("MIG-abc")).unwrap_err().contains("MIG"));
        assert!(nvml_target(0, Some("x")).is_err());
    }
}
