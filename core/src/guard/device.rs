//! The compute devices llama.cpp sees in this build, and where a local guard run puts its
//! model's layers (`--gpu-layers`).
//!
//! A GPU backend is chosen when Verdikt is compiled (`--features cuda` or `vulkan`), so "no GPU
//! backend" is a fact of the binary, told apart from "a GPU backend that found no device". A
//! build on llama.cpp's shared libraries (`dynamic-link`, the device bundle's) gets its backends
//! from the libraries it finds at run time: those whose devices it sees are its GPU backends.

use serde::Serialize;

/// The GPU backends compiled into this build (empty in the default CPU build).
pub const GPU_BACKENDS: &[&str] = &[
    #[cfg(feature = "cuda")]
    "CUDA",
    #[cfg(feature = "vulkan")]
    "Vulkan",
];

/// What kind of device llama.cpp says it is.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Cpu,
    Gpu,
    /// An integrated GPU sharing the host's memory (Mesa's software Vulkan device is one).
    Igpu,
    Accel,
    Unknown,
}

impl DeviceKind {
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Gpu => "gpu",
            DeviceKind::Igpu => "igpu",
            DeviceKind::Accel => "accel",
            DeviceKind::Unknown => "unknown",
        }
    }
}

/// One device of one backend, as `verdikt devices` lists it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// llama.cpp's device index.
    pub index: u32,
    /// e.g. `CPU`, `Vulkan0`, `CUDA0`.
    pub name: String,
    /// e.g. the CPU's model name, or `NVIDIA GeForce RTX 4090`.
    pub description: String,
    /// e.g. `CPU`, `Vulkan`, `CUDA`.
    pub backend: String,
    pub kind: DeviceKind,
    pub memory_total: u64,
    pub memory_free: u64,
}

impl Device {
    /// A device that can hold model layers: anything but the CPU itself.
    pub fn is_gpu(&self) -> bool {
        matches!(self.kind, DeviceKind::Gpu | DeviceKind::Igpu)
    }
}

/// The backends compiled in and the devices they found.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, Serialize)]
pub struct Devices {
    pub gpu_backends: Vec<String>,
    pub devices: Vec<Device>,
    /// The device a run offloads to (see [`Devices::new`]); none: runs compute on the CPU.
    pub offload: Option<Device>,
}

impl Devices {
    /// The offload device is the first discrete GPU, else the first integrated one (llama.cpp's
    /// own preference): one device, so that a run records where it ran.
    pub fn new(gpu_backends: Vec<String>, devices: Vec<Device>) -> Devices {
        let first = |kind| devices.iter().find(|d| d.kind == kind).cloned();
        let offload = first(DeviceKind::Gpu).or_else(|| first(DeviceKind::Igpu));
        Devices {
            gpu_backends,
            devices,
            offload,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "this build of Verdikt has no GPU backend, so --gpu-layers {asked} cannot be served: it \
         computes on the CPU only. Build with `--features cuda` or `--features vulkan` (see the \
         README), or leave --gpu-layers out"
    )]
    NoGpuBackend { asked: u32 },
    #[error(
        "the {backends} backend found no GPU device for --gpu-layers {asked} (see `verdikt \
         devices`); --gpu-layers 0 runs on the CPU"
    )]
    NoGpuDevice { backends: String, asked: u32 },
}

/// Where a run's model layers go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Cpu,
    /// `layers` of the model's (repeating layers + output) on `device`, the rest on the CPU.
    Gpu {
        device: Device,
        layers: u32,
    },
}

impl Placement {
    /// `gpu_layers`: `None` = all layers when a GPU device is there, else the CPU; `Some(0)` =
    /// the CPU; `Some(n)` = n layers, and an error when no GPU can take them.
    pub fn choose(gpu_layers: Option<u32>, devices: &Devices) -> Result<Placement, DeviceError> {
        match (gpu_layers, &devices.offload) {
            (Some(0), _) | (None, None) => Ok(Placement::Cpu),
            (None, Some(device)) => Ok(Placement::Gpu {
                device: device.clone(),
                layers: u32::MAX,
            }),
            (Some(layers), Some(device)) => Ok(Placement::Gpu {
                device: device.clone(),
                layers,
            }),
            (Some(asked), None) if devices.gpu_backends.is_empty() => {
                Err(DeviceError::NoGpuBackend { asked })
            }
            (Some(asked), None) => Err(DeviceError::NoGpuDevice {
                backends: devices.gpu_backends.join(", "),
                asked,
            }),
        }
    }

    /// What a run records: `CPU`, or the device and how many of the model's `offloadable`
    /// layers it holds, e.g. `Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits)), 31/31 layers`.
    pub fn describe(&self, offloadable: u32) -> String {
        match self {
            Placement::Cpu => "CPU".into(),
            Placement::Gpu { device, layers } => format!(
                "{} ({}), {}/{offloadable} layers",
                device.name,
                device.description,
                (*layers).min(offloadable)
            ),
        }
    }
}

/// Every device llama.cpp's backends found (initialising llama.cpp if needed).
pub fn list() -> Result<Devices, super::llama::EngineError> {
    super::llama::backend()?;
    let devices: Vec<Device> = llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| Device {
            index: d.index as u32,
            name: d.name,
            description: d.description,
            backend: d.backend,
            kind: match d.device_type {
                llama_cpp_2::LlamaBackendDeviceType::Cpu => DeviceKind::Cpu,
                llama_cpp_2::LlamaBackendDeviceType::Gpu => DeviceKind::Gpu,
                llama_cpp_2::LlamaBackendDeviceType::IntegratedGpu => DeviceKind::Igpu,
                llama_cpp_2::LlamaBackendDeviceType::Accelerator => DeviceKind::Accel,
                llama_cpp_2::LlamaBackendDeviceType::Unknown => DeviceKind::Unknown,
            },
            memory_total: d.memory_total as u64,
            memory_free: d.memory_free as u64,
        })
        .collect();
    let mut backends: Vec<String> = if cfg!(feature = "dynamic-link") {
        devices
            .iter()
            .filter(|d| d.is_gpu())
            .map(|d| d.backend.clone())
            .collect()
    } else {
        GPU_BACKENDS.iter().map(|b| b.to_string()).collect()
    };
    backends.dedup();
    Ok(Devices::new(backends, devices))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str, kind: DeviceKind) -> Device {
        Device {
            index: 0,
            name: name.into(),
            description: format!("{name} card"),
            backend: "Vulkan".into(),
            kind,
            memory_total: 1 << 30,
            memory_free: 1 << 29,
        }
    }

    fn devices(backends: &[&str], list: Vec<Device>) -> Devices {
        Devices::new(backends.iter().map(|b| b.to_string()).collect(), list)
    }

    #[test]
    fn without_a_gpu_backend_only_asking_for_layers_fails() {
        let cpu_only = devices(&[], vec![device("CPU", DeviceKind::Cpu)]);
        assert_eq!(Placement::choose(None, &cpu_only).unwrap(), Placement::Cpu);
        assert_eq!(
            Placement::choose(Some(0), &cpu_only).unwrap(),
            Placement::Cpu
        );
        let err = Placement::choose(Some(8), &cpu_only).unwrap_err();
        assert!(
            matches!(err, DeviceError::NoGpuBackend { asked: 8 }),
            "{err}"
        );
        assert!(err.to_string().contains("no GPU backend"), "{err}");
    }

    #[test]
    fn a_backend_without_devices_is_told_apart() {
        let empty = devices(&["Vulkan"], vec![device("CPU", DeviceKind::Cpu)]);
        assert_eq!(Placement::choose(None, &empty).unwrap(), Placement::Cpu);
        let err = Placement::choose(Some(1), &empty).unwrap_err();
        assert!(
            err.to_string()
                .contains("Vulkan backend found no GPU device"),
            "{err}"
        );
    }

    #[test]
    fn a_discrete_gpu_is_preferred_and_layers_are_capped_in_the_record() {
        let both = devices(
            &["Vulkan"],
            vec![
                device("CPU", DeviceKind::Cpu),
                device("Vulkan0", DeviceKind::Igpu),
                device("Vulkan1", DeviceKind::Gpu),
            ],
        );
        let all = Placement::choose(None, &both).unwrap();
        assert_eq!(all.describe(31), "Vulkan1 (Vulkan1 card), 31/31 layers");
        let some = Placement::choose(Some(12), &both).unwrap();
        assert_eq!(some.describe(31), "Vulkan1 (Vulkan1 card), 12/31 layers");
        assert_eq!(
            Placement::choose(Some(0), &both).unwrap().describe(31),
            "CPU"
        );
    }
}
