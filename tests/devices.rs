//! Offload control on the CPU build: `verdikt devices` says there is no GPU backend, a run asked
//! for GPU layers is refused before anything is stored, and a run records the device it used.
//! (The Vulkan build's side is `scripts/test-gpu-build`.) Also `scripts/device-run`'s refusal of
//! the real guards' shape on a machine without the CUDA toolkit.

mod common;

use common::{Project, datasets, guard_run, repo, s};

#[cfg(not(any(feature = "cuda", feature = "vulkan")))]
#[test]
fn the_cpu_build_lists_the_cpu_and_says_it_has_no_gpu_backend() {
    let p = Project::new();
    let out = p.ok(&["devices"]);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("GPU backends: none (this build computes on the CPU only"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["devices", "--json"])).unwrap();
    assert_eq!(json["gpu_backends"], serde_json::json!([]));
    assert!(json["offload"].is_null(), "{json}");
    let devices = json["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{json}");
    let cpu = &devices[0];
    assert_eq!(
        (cpu["name"].as_str(), cpu["kind"].as_str()),
        (Some("CPU"), Some("cpu"))
    );
    let (total, free) = (
        cpu["memory_total"].as_u64().unwrap(),
        cpu["memory_free"].as_u64().unwrap(),
    );
    assert!(total > (1 << 28) && free > 0 && free <= total, "{cpu}");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("0\tCPU\tCPU\tcpu\t"),
        "{out}"
    );
}

#[cfg(not(any(feature = "cuda", feature = "vulkan")))]
#[test]
fn gpu_layers_on_the_cpu_build_are_refused_and_runs_record_the_cpu() {
    let p = Project::new();
    p.ok(&["import", s(&datasets().join("hostile.jsonl"))]);
    let (ok, _, err) = guard_run(&p, &["--limit", "3", "--gpu-layers", "8"]);
    assert!(!ok, "a CPU build must refuse GPU layers");
    assert!(
        err.contains(
            "this build of Verdikt has no GPU backend, so --gpu-layers 8 cannot be served"
        ),
        "{err}"
    );
    let runs: Vec<i64> = p.sql("SELECT count(*) FROM guard_runs");
    assert_eq!(runs, [0], "the refusal leaves no run behind");

    // The same run twice (its verdicts dropped in between): each invocation records its device.
    for layers in [
        &["--limit", "3", "--gpu-layers", "0"][..],
        &["--limit", "3"],
    ] {
        let _: Vec<i64> = p.sql("UPDATE guard_runs SET device = NULL RETURNING id");
        let _: Vec<i64> = p.sql("DELETE FROM verdicts RETURNING run_id");
        let (ok, out, err) = guard_run(&p, layers);
        assert!(ok, "{err}");
        assert!(out.contains("checked 3 texts"), "{out}");
        let table = p.ok(&["guard", "runs"]);
        assert!(table.trim_end().ends_with("\tCPU"), "{table}");
        let runs: serde_json::Value =
            serde_json::from_str(&p.ok(&["guard", "runs", "--json"])).unwrap();
        assert_eq!(runs[0]["device"], "CPU", "{runs}");
    }
    let runs: Vec<i64> = p.sql("SELECT count(*) FROM guard_runs");
    assert_eq!(runs, [1], "the CPU and the default continue one run");
}

#[test]
fn device_run_refuses_the_gpu_shape_cleanly_without_nvcc() {
    // A PATH holding only what the script needs to reach its check: surely no nvcc on it.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["bash", "dirname"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin.path().join("bash"))
        .arg(repo().join("scripts/device-run"))
        .arg("--work")
        .arg(cache.path().join("work"))
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "device-run: --shape gpu needs nvcc (an NVIDIA GPU and its CUDA toolkit); on a CPU use \
         --shape tiny. Nothing was done."
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}
