//! The node image: finding a static chord-node, deciding whether the image
//! must be (re)built, and building it through the engine from a tar context
//! made in memory (no `docker` CLI, no `target/` folder sent).
//!
//! The tar holds the repository's own `Dockerfile` (compiled in) and the
//! binary at the path that Dockerfile copies from, so `docker build .` in
//! the repository and `chordctl up` produce the same image.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use object::elf::FileHeader64;
use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::{FileKind, LittleEndian};

use crate::runtime::{node_bin_candidates, STATIC_BUILD_HINT};

/// The repository's Dockerfile, the single source of the image recipe.
pub const DOCKERFILE: &str = include_str!("../../Dockerfile");

/// Where the Dockerfile expects the binary inside the build context (it
/// copies it through the pattern `[t]arget/...`, so that a context without
/// it fails at the step that says to run `make build`).
pub const CONTEXT_BIN_PATH: &str = "target/x86_64-unknown-linux-gnu/release/chord-node";

/// How an ELF executable is linked, as far as starting it in an empty
/// image is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum Linkage {
    /// No program interpreter: runs in `FROM scratch` (static or static-pie).
    Static,
    /// Needs the named loader, which a scratch image does not have.
    Dynamic {
        /// The requested loader, e.g. `/lib64/ld-linux-x86-64.so.2`.
        interpreter: String,
    },
}

/// Reads the program headers of a 64-bit little-endian ELF file (with the
/// `object` crate) and reports whether it asks for a program interpreter
/// (`PT_INTERP`).
pub fn elf_linkage(bytes: &[u8]) -> Result<Linkage> {
    match FileKind::parse(bytes) {
        Ok(FileKind::Elf64) => {}
        Ok(FileKind::Elf32) => bail!("not a 64-bit little-endian ELF executable"),
        _ => bail!("not an ELF executable"),
    }
    let header = FileHeader64::<LittleEndian>::parse(bytes).context("bad ELF header")?;
    if !header.is_little_endian() {
        bail!("not a 64-bit little-endian ELF executable");
    }
    let program_headers = header
        .program_headers(LittleEndian, bytes)
        .context("truncated ELF program header table")?;
    for ph in program_headers {
        if let Some(raw) = ph
            .interpreter(LittleEndian, bytes)
            .context("bad PT_INTERP")?
        {
            let interpreter = String::from_utf8_lossy(raw).into_owned();
            return Ok(Linkage::Dynamic { interpreter });
        }
    }
    Ok(Linkage::Static)
}

/// What the search for a static chord-node found.
#[derive(Debug)]
pub enum StaticBin {
    /// A statically linked binary.
    Found(PathBuf),
    /// Only a dynamically linked one (unusable in `FROM scratch`).
    Dynamic {
        /// Where it is.
        path: PathBuf,
        /// The loader it asks for.
        interpreter: String,
    },
    /// Nothing at any of these places.
    Missing(Vec<PathBuf>),
}

impl StaticBin {
    /// Why no image can be built from what was found, with the fix.
    pub fn explain(&self) -> String {
        match self {
            StaticBin::Found(path) => format!("{} is usable", path.display()),
            // A dynamic binary in FROM scratch dies at exec with a confusing
            // "no such file or directory": say so before building.
            StaticBin::Dynamic { path, interpreter } => format!(
                "{} is dynamically linked (it needs {interpreter}), but the node image is \
                 FROM scratch and has no loader; build the static binary with:\n  {STATIC_BUILD_HINT}",
                path.display()
            ),
            StaticBin::Missing(looked) => {
                let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
                format!(
                    "no static chord-node binary was found (looked at {}); build it with:\n  \
                     {STATIC_BUILD_HINT}\nor give its path with --node-bin / CHORDCTL_NODE_BIN",
                    list.join(", ")
                )
            }
        }
    }
}

/// Looks for a statically linked chord-node for the image. An explicit
/// path must exist and be static; among the default places, dynamic builds
/// (such as `target/debug`) are passed over.
pub fn locate_static(explicit: Option<&PathBuf>) -> Result<StaticBin> {
    let candidates = node_bin_candidates(explicit);
    let mut dynamic = None;
    for path in &candidates {
        let Ok(bytes) = std::fs::read(path) else {
            if explicit.is_some() {
                bail!("cannot read the chord-node binary {}", path.display());
            }
            continue;
        };
        let linkage =
            elf_linkage(&bytes).with_context(|| format!("checking {}", path.display()))?;
        match linkage {
            Linkage::Static => return Ok(StaticBin::Found(path.clone())),
            Linkage::Dynamic { interpreter } => {
                let found = StaticBin::Dynamic {
                    path: path.clone(),
                    interpreter,
                };
                if explicit.is_some() {
                    bail!("{}", found.explain());
                }
                dynamic.get_or_insert(found);
            }
        }
    }
    Ok(dynamic.unwrap_or(StaticBin::Missing(candidates)))
}

/// Seconds since the epoch of a file's modification time.
pub fn mtime_secs(path: &Path) -> Result<i64> {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the modification time of {}", path.display()))?;
    let secs = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Parses the RFC 3339 timestamps the engine uses (`2024-05-01T12:00:00.123Z`
/// or with a `+hh:mm` offset) into seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let clock_end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(clock_end);
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':');
    let (hh, mm, ss) = (num(c.next()?)?, num(c.next()?)?, num(c.next()?)?);
    let offset = match zone.as_bytes().first() {
        None | Some(b'Z' | b'z') => 0,
        Some(sign) => {
            let (oh, om) = zone[1..].split_once(':')?;
            let o = num(oh)? * 3600 + num(om)? * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// well-known algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The build context: Dockerfile at the root, the binary where the
/// Dockerfile copies it from, executable.
pub fn build_context(binary: &[u8]) -> Result<Vec<u8>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut tar = tar::Builder::new(Vec::with_capacity(binary.len() + 8192));
    for (path, data, mode) in [
        ("Dockerfile", DOCKERFILE.as_bytes(), 0o644),
        (CONTEXT_BIN_PATH, binary, 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(now);
        tar.append_data(&mut header, path, data)
            .with_context(|| format!("adding {path} to the build context"))?;
    }
    tar.into_inner().context("finishing the build context")
}

/// Whether `image` must be built: it is missing, or older than `binary`.
/// `Ok(None)` means the image is present and fresh (or no binary is known
/// to compare with); `Ok(Some(reason))` means build.
pub async fn needs_build(
    docker: &Docker,
    image: &str,
    binary: Option<&Path>,
) -> Result<Option<String>> {
    let created = match docker.inspect_image(image).await {
        Ok(info) => {
            // Never rebuild (and so retag) an image chordctl did not build.
            let ours = info
                .config
                .as_ref()
                .and_then(|c| c.labels.as_ref())
                .and_then(|l| l.get("io.chordctl.role"))
                .is_some_and(|r| r == "node-image");
            if !ours {
                return Ok(None);
            }
            info.created.as_deref().and_then(parse_rfc3339)
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(Some(format!("image {image} is missing"))),
        Err(e) => return Err(e).with_context(|| format!("inspecting image {image}")),
    };
    let Some(binary) = binary else {
        return Ok(None);
    };
    let bin_time = mtime_secs(binary)?;
    match created {
        Some(t) if t >= bin_time => Ok(None),
        _ => Ok(Some(format!(
            "image {image} is older than {}",
            binary.display()
        ))),
    }
}

/// Builds `image` from `binary` with the classic builder (BuildKit would
/// try to pull its frontend, and nothing can be pulled here).
pub async fn build(docker: &Docker, image: &str, binary: &Path) -> Result<()> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let context = build_context(&bytes)?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut transcript = String::new();
    // The stream ends when the engine finishes; its length is bounded by
    // the Dockerfile's few steps.
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(line) = info.stream {
                    transcript.push_str(&line);
                }
            }
            Err(e) => {
                let tail = crate::runtime::last_lines(&transcript, 15);
                return Err(e).with_context(|| {
                    format!(
                        "building image {image} from {}; builder output:\n{tail}",
                        binary.display()
                    )
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header plus one program header of type `p_type`.
    fn fake_elf(p_type: u32, interp: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2; // 64-bit
        b[5] = 1; // little-endian
        b[6] = 1; // ELF version 1
        b[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        b[64..68].copy_from_slice(&p_type.to_le_bytes());
        let off = b.len() as u64;
        b[64 + 8..64 + 16].copy_from_slice(&off.to_le_bytes());
        b[64 + 32..64 + 40].copy_from_slice(&(interp.len() as u64).to_le_bytes());
        b.extend_from_slice(interp);
        b
    }

    #[test]
    fn interp_header_means_dynamic() {
        let elf = fake_elf(3, b"/lib64/ld-linux-x86-64.so.2\0");
        assert_eq!(
            elf_linkage(&elf).unwrap(),
            Linkage::Dynamic {
                interpreter: "/lib64/ld-linux-x86-64.so.2".into()
            }
        );
        assert_eq!(elf_linkage(&fake_elf(1, b"")).unwrap(), Linkage::Static);
    }

    #[test]
    fn what_is_not_a_64_bit_little_endian_elf_says_so() {
        let refusal = |bytes: &[u8]| format!("{:#}", elf_linkage(bytes).unwrap_err());
        assert_eq!(refusal(b"#!/bin/sh\n"), "not an ELF executable");
        assert_eq!(refusal(b""), "not an ELF executable");
        let elf = fake_elf(3, b"/lib/ld.so\0");
        let mut elf32 = elf.clone();
        elf32[4] = 1;
        let mut big_endian = elf.clone();
        big_endian[5] = 2;
        for bytes in [elf32, big_endian] {
            assert_eq!(refusal(&bytes), "not a 64-bit little-endian ELF executable");
        }
        assert!(refusal(&elf[..40]).starts_with("bad ELF header"));
        assert!(refusal(&elf[..64 + 30]).starts_with("truncated ELF program header table"));
        // The interpreter's path runs past the end of the file.
        assert!(refusal(&elf[..elf.len() - 4]).starts_with("bad PT_INTERP"));
    }

    #[test]
    fn system_binary_is_dynamic() {
        // Debian's coreutils are dynamically linked; skip where they are not there.
        if let Ok(bytes) = std::fs::read("/bin/ls") {
            assert!(matches!(elf_linkage(&bytes), Ok(Linkage::Dynamic { .. })));
        }
    }

    #[test]
    fn rfc3339_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.123456789Z"),
            Some(1_709_210_096)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T13:34:56+01:00"),
            Some(1_709_210_096)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn context_has_dockerfile_and_executable_binary() {
        let tar_bytes = build_context(b"ELF-ish").unwrap();
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().to_string();
            seen.push((path, entry.header().mode().unwrap()));
        }
        assert_eq!(
            seen,
            vec![
                ("Dockerfile".to_string(), 0o644),
                (CONTEXT_BIN_PATH.to_string(), 0o755)
            ]
        );
        // The Dockerfile copies it through the pattern `[t]arget/...`, which
        // tolerates its absence until the stage that names `make build`.
        let pattern = format!("\"[{}]{}\"", &CONTEXT_BIN_PATH[..1], &CONTEXT_BIN_PATH[1..]);
        assert!(DOCKERFILE.contains(&pattern), "{pattern}");
        assert!(DOCKERFILE.contains("run `make build` first/chord-node"));
    }
}
