//! Link settings of the `ferry-sidecar` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if linux_gnu {
        // Packed relative relocations (DT_RELR): a position-independent binary this size
        // otherwise carries over a megabyte of relocation entries that the loader reads at
        // every start, and that stay resident for the life of the process (the injected
        // sidecar's idle memory). Needs binutils 2.38 and glibc 2.36, as in Debian bookworm,
        // the image's base.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
