//! Which device a trial runs on: the pool of CUDA GPUs shared by
//! concurrent trials (at most `trials_per_gpu` each), the lease a trial
//! holds on its slot, NVML for the energy objectives, and [`doctor`].

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use paretosearch_core::spec::{SpecError, SpecOrigin};
use paretosearch_core::Objectives;
use tch::Device;

use super::Inner;
use crate::energy::GpuEnergy;
use crate::error::TorchError;
use crate::options::{DeviceChoice, TorchOptions, ENERGY_OBJECTIVES};

/// CUDA devices shared by concurrent trials, at most `per_gpu` trials each.
pub(super) struct GpuPool {
    pub(super) devices: Vec<usize>,
    pub(super) load: Mutex<Vec<usize>>,
    pub(super) freed: Condvar,
    pub(super) per_gpu: usize,
}

pub(super) struct Lease<'a> {
    pool: Option<&'a GpuPool>,
    slot: usize,
    pub(super) device: Device,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            pool.load.lock().expect("gpu pool lock")[self.slot] -= 1;
            pool.freed.notify_one();
        }
    }
}

impl GpuPool {
    /// The least loaded GPU with room, waiting for one when all are full.
    pub(super) fn acquire(&self, cancelled: &dyn Fn() -> bool) -> Result<Lease<'_>, TorchError> {
        let mut load = self.load.lock().expect("gpu pool lock");
        loop {
            let best = (0..load.len())
                .filter(|&i| load[i] < self.per_gpu)
                .min_by_key(|&i| load[i]);
            if let Some(slot) = best {
                load[slot] += 1;
                return Ok(Lease {
                    pool: Some(self),
                    slot,
                    device: Device::Cuda(self.devices[slot]),
                });
            }
            if cancelled() {
                return Err(TorchError::Interrupted);
            }
            load = self
                .freed
                .wait_timeout(load, Duration::from_millis(100))
                .expect("gpu pool lock")
                .0;
        }
    }
}

/// Loads libtorch's CUDA library, which nothing in a Rust binary
/// references by symbol (so the linker may drop it): without it libtorch
/// registers no CUDA kernels and reports no device. Harmless where the
/// library or a driver is absent.
pub(super) fn load_cuda() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut candidates = Vec::new();
        if let Some(dir) = option_env!("PARETOSEARCH_LIBTORCH_LIB") {
            candidates.push(format!("{dir}/libtorch_cuda.so"));
        }
        candidates.push("libtorch_cuda.so".to_string());
        for c in candidates {
            let Ok(name) = std::ffi::CString::new(c) else {
                continue;
            };
            // SAFETY: dlopen with a valid NUL-terminated path; the handle is
            // intentionally never closed (the library stays for the process).
            let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if !handle.is_null() {
                break;
            }
        }
    });
}

/// NVML for the study's energy objectives (`None` when it asks for none),
/// or the located error that says why energy cannot be measured here.
pub(super) fn open_energy(
    opts: &TorchOptions,
    gpus: Option<&GpuPool>,
    origin: &SpecOrigin,
    objectives: &Objectives,
) -> Result<Option<GpuEnergy>, SpecError> {
    let Some((index, name)) = objectives
        .names()
        .iter()
        .enumerate()
        .find(|(_, n)| ENERGY_OBJECTIVES.contains(n))
        .map(|(i, n)| (i.to_string(), n.to_string()))
    else {
        return Ok(None);
    };
    let at = |message: String, help: &str| {
        origin.error_at(&["objectives", &index, "name"], message, Some(help))
    };
    let Some(pool) = gpus else {
        let why = match opts.device {
            DeviceChoice::Cpu => "device = \"cpu\"",
            _ => "device = \"auto\" found no CUDA GPU here",
        };
        return Err(at(
            format!("`{name}` is read from NVIDIA's NVML GPU energy counters, but trials run on the CPU ({why})"),
            "run on a CUDA GPU (device = \"cuda\" on a machine with an NVIDIA driver), or drop the energy objectives",
        ));
    };
    GpuEnergy::open(&pool.devices).map(Some).map_err(|e| {
        at(
            format!("`{name}` cannot be measured: {}", e.message),
            &e.help,
        )
    })
}

/// NVML for `gpu_power_limit`, when the space searches it or
/// `[runner.params]` fixes it: a located error without a CUDA GPU,
/// without NVML or without the permission (several trials per GPU are
/// refused with the options).
pub(super) fn open_power(
    opts: &TorchOptions,
    gpus: Option<&GpuPool>,
    origin: &SpecOrigin,
    space: &paretosearch_core::SearchSpace,
) -> Result<Option<crate::power::GpuPower>, SpecError> {
    let name = "gpu_power_limit";
    let key: Vec<&str> = if space.params().iter().any(|p| p.name == name) {
        vec!["search_space", name]
    } else if opts.defaults.contains_key(name) {
        vec!["runner", "params", name]
    } else {
        return Ok(None);
    };
    let at = |message: String, help: &str| origin.key_error_at(&key, message, Some(help));
    let Some(pool) = gpus else {
        return Err(at(
            "gpu_power_limit sets a CUDA GPU's power cap through NVML, but trials run on the CPU"
                .into(),
            "run on a CUDA GPU (device = \"cuda\"), or drop gpu_power_limit",
        ));
    };
    crate::power::GpuPower::open(&pool.devices)
        .map(Some)
        .map_err(|m| at(m, "run as root (or with the driver's admin rights) on an NVIDIA GPU, or drop gpu_power_limit"))
}

pub(super) fn resolve_devices(
    choice: &DeviceChoice,
    per_gpu: usize,
) -> Result<Option<GpuPool>, String> {
    if *choice == DeviceChoice::Cpu {
        return Ok(None);
    }
    load_cuda();
    let available = tch::Cuda::is_available();
    let count = if available {
        tch::Cuda::device_count() as usize
    } else {
        0
    };
    let devices: Vec<usize> = match choice {
        DeviceChoice::Cpu => unreachable!(),
        DeviceChoice::Auto if count == 0 => return Ok(None),
        DeviceChoice::Auto | DeviceChoice::Cuda => (0..count).collect(),
        DeviceChoice::CudaIndex(i) => vec![*i],
    };
    if count == 0 {
        return Err("CUDA is not available here (no NVIDIA driver or no GPU)".into());
    }
    if let Some(bad) = devices.iter().find(|&&i| i >= count) {
        return Err(format!(
            "cuda:{bad} does not exist; this machine has {count} CUDA device(s)"
        ));
    }
    Ok(Some(GpuPool {
        load: Mutex::new(vec![0; devices.len()]),
        devices,
        freed: Condvar::new(),
        per_gpu,
    }))
}

impl Inner {
    pub(super) fn lease(&self, cancelled: &dyn Fn() -> bool) -> Result<Lease<'_>, TorchError> {
        match &self.gpus {
            Some(pool) => pool.acquire(cancelled),
            None => Ok(Lease {
                pool: None,
                slot: 0,
                device: Device::Cpu,
            }),
        }
    }
}

/// A report on the libtorch installation: version, library folder, CUDA
/// availability and devices, threads.
pub fn doctor() -> String {
    load_cuda();
    let mut out = String::new();
    let version = option_env!("PARETOSEARCH_LIBTORCH_VERSION").unwrap_or("unknown");
    // scripts/gpu-bundle.sh builds against another libtorch with the tch
    // release made for it, and says which.
    let tch = option_env!("PARETOSEARCH_TCH_VERSION").unwrap_or("0.26");
    out.push_str(&format!("libtorch: {version} (tch {tch})\n"));
    out.push_str(&format!(
        "library folder: {}\n",
        option_env!("PARETOSEARCH_LIBTORCH_LIB").unwrap_or("unknown")
    ));
    // The folder the dynamic loader took libtorch from: another one than
    // the build's where LD_LIBRARY_PATH points elsewhere (the GPU bundle).
    if let Some(dir) = loaded_libtorch_dir() {
        let loaded = std::fs::read_to_string(format!("{dir}/../version.py"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("__version__ = "))
                    .map(|v| v.trim().trim_matches('\'').to_string())
            })
            .unwrap_or_else(|| "version unknown".to_string());
        out.push_str(&format!("loaded from: {dir} ({loaded})\n"));
    }
    let cuda = tch::Cuda::is_available();
    let count = if cuda { tch::Cuda::device_count() } else { 0 };
    out.push_str(&format!(
        "CUDA: {}\n",
        if cuda { "available" } else { "not available" }
    ));
    out.push_str(&format!("CUDA devices: {count}\n"));
    for i in 0..count {
        out.push_str(&format!("  cuda:{i}\n"));
    }
    if cuda {
        out.push_str(&format!("cuDNN: {}\n", tch::Cuda::cudnn_is_available()));
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    out.push_str(&format!(
        "CPU cores: {cores}; libtorch threads: {}\n",
        tch::get_num_threads()
    ));
    out
}

/// The folder of the libtorch_cpu.so this process mapped (Linux: read from
/// /proc/self/maps), `None` where it cannot be told.
fn loaded_libtorch_dir() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.find('/').map(|i| &l[i..]))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| std::path::Path::new(p).parent())
        .map(|d| d.display().to_string())
}
