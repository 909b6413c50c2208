//! Reading switch data from disk: a usb-modeswitch-data directory (one file
//! per `vvvv:pppp`), a single such file, OpenWRT's `usb-mode.json`, or
//! Debian's `configPack.tar.gz` (cargo feature `configpack`).
//!
//! One bad entry does not hide the others: loaders return the good entries
//! plus one error per bad file.

use super::json::parse_usb_mode_json;
use super::modeswitch::{parse_data_file, parse_entry_name};
use super::table::{Source, SwitchEntry, Table, TableError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where Debian keeps the data.
pub const DEBIAN_CONFIGPACK: &str = "/usr/share/usb_modeswitch/configPack.tar.gz";
/// Where usb-modeswitch-data unpacks (older releases, other distributions).
pub const DATA_DIR: &str = "/usr/share/usb_modeswitch";
/// OpenWRT's usbmode database.
pub const OPENWRT_JSON: &str = "/etc/usb-mode.json";
/// Local overrides in usb_modeswitch's format.
pub const LOCAL_DIR: &str = "/etc/usb_modeswitch.d";

/// Places read when nothing is configured, in order (later ones are read
/// only if present; all found are merged, earlier first).
pub fn default_paths() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(LOCAL_DIR), PathBuf::from(OPENWRT_JSON)];
    if cfg!(feature = "configpack") {
        v.push(PathBuf::from(DEBIAN_CONFIGPACK));
    }
    v.push(PathBuf::from(DATA_DIR));
    v
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct Loaded {
    pub entries: Vec<SwitchEntry>,
    /// One per file (or archive member) that could not be used.
    pub errors: Vec<TableError>,
}

/// The table in effect: entries from `paths` (earlier paths win) ahead of
/// the built-in ones. With `explicit`, a missing path is an error;
/// otherwise missing default places are skipped. Bad entries are returned
/// alongside, for the caller to report.
pub fn table(paths: &[PathBuf], explicit: bool) -> io::Result<(Table, Vec<TableError>)> {
    let mut t = Table::builtin();
    let mut errors = Vec::new();
    for p in paths.iter().rev() {
        if !explicit && !p.exists() {
            continue;
        }
        let l = load_path(p)?;
        log::debug!("{}: {} switch entries", p.display(), l.entries.len());
        t.prepend(l.entries);
        errors.extend(l.errors);
    }
    Ok((t, errors))
}

/// Load switch data from `path`, whatever its kind.
pub fn load_path(path: &Path) -> io::Result<Loaded> {
    let meta = fs::metadata(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        return load_dir(path);
    }
    let name = path.to_string_lossy();
    if name.ends_with(".json") {
        let text = read_text(path)?;
        return Ok(match parse_usb_mode_json(path, &text) {
            Ok((entries, errors)) => Loaded { entries, errors },
            Err(e) => Loaded {
                entries: vec![],
                errors: vec![e],
            },
        });
    }
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        return load_configpack(path);
    }
    let text = read_text(path)?;
    Ok(one(parse_data_file(
        &name,
        Source::File(path.into()),
        &text,
    )))
}

fn one(r: Result<SwitchEntry, TableError>) -> Loaded {
    match r {
        Ok(e) => Loaded {
            entries: vec![e],
            errors: vec![],
        },
        Err(e) => Loaded {
            entries: vec![],
            errors: vec![e],
        },
    }
}

fn read_text(path: &Path) -> io::Result<String> {
    let bytes =
        fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Every `vvvv:pppp[:qualifier]` file in a directory (other names, such as
/// `new.lst` or a `configPack.tar.gz`, are skipped), sorted by name.
pub fn load_dir(dir: &Path) -> io::Result<Loaded> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .filter_map(|d| d.ok())
        .filter_map(|d| d.file_name().into_string().ok())
        .filter(|n| parse_entry_name(n).is_some())
        .collect();
    names.sort();
    let mut out = Loaded::default();
    for n in names {
        let p = dir.join(&n);
        let r = match read_text(&p) {
            Ok(text) => parse_data_file(&n, Source::File(p.clone()), &text),
            Err(e) => Err(TableError::new(p.display().to_string(), 0, e.to_string())),
        };
        let l = one(r);
        out.entries.extend(l.entries);
        out.errors.extend(l.errors);
    }
    Ok(out)
}

/// Load Debian's configPack.tar.gz.
#[cfg(feature = "configpack")]
pub fn load_configpack(path: &Path) -> io::Result<Loaded> {
    let gz =
        fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let bad = |m: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let tar = gunzip(&gz, 16 << 20).map_err(bad)?;
    let members = tar_members(&tar).map_err(bad)?;
    let mut out = Loaded::default();
    for (name, data) in members {
        let base = name.rsplit('/').next().unwrap_or(&name).to_string();
        if parse_entry_name(&base).is_none() {
            continue;
        }
        let label = format!("{}:{}", path.display(), base);
        let text = String::from_utf8_lossy(data);
        let l = one(
            parse_data_file(&base, Source::File(path.into()), &text).map_err(|mut e| {
                e.file = label;
                e
            }),
        );
        out.entries.extend(l.entries);
        out.errors.extend(l.errors);
    }
    Ok(out)
}

#[cfg(not(feature = "configpack"))]
pub fn load_configpack(path: &Path) -> io::Result<Loaded> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{}: this build cannot read .tar.gz (feature configpack); unpack it and give the directory",
            path.display()
        ),
    ))
}

/// Decompress a gzip member (RFC 1952) of at most `limit` bytes.
#[cfg(feature = "configpack")]
pub fn gunzip(gz: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use crate::wire::Reader;
    let mut r = Reader::new(gz);
    let short = |e: crate::wire::Short| format!("gzip header {e}");
    let magic = r.array::<2>().map_err(short)?;
    if magic != [0x1f, 0x8b] {
        return Err("not a gzip file".into());
    }
    if r.u8().map_err(short)? != 8 {
        return Err("gzip: unknown compression method".into());
    }
    let flags = r.u8().map_err(short)?;
    r.bytes(6).map_err(short)?; // mtime, xfl, os
    if flags & 0x04 != 0 {
        let n = r.u16le().map_err(short)?;
        r.bytes(n.into()).map_err(short)?;
    }
    for bit in [0x08u8, 0x10] {
        if flags & bit != 0 {
            while r.u8().map_err(short)? != 0 {}
        }
    }
    if flags & 0x02 != 0 {
        r.u16le().map_err(short)?;
    }
    let body = r.rest();
    let out = miniz_oxide::inflate::decompress_to_vec_with_limit(body, limit)
        .map_err(|e| format!("gzip: corrupt or too large (status {})", e.status as i32))?;
    // The trailer's ISIZE is the length mod 2^32; CRC32 is left unchecked
    // (the tar headers carry their own checksums).
    Ok(out)
}

/// The regular files of a ustar/GNU tar archive, as (name, contents).
#[cfg(feature = "configpack")]
pub fn tar_members(tar: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let mut out = Vec::new();
    let mut off = 0usize;
    let mut long_name: Option<String> = None;
    while off < tar.len() {
        let h = tar
            .get(off..off + 512)
            .ok_or_else(|| format!("tar: header truncated at byte {off}"))?;
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let field = |a: usize, b: usize| h.get(a..b).unwrap_or_default();
        let cstr = |a: usize, b: usize| {
            let f = field(a, b);
            let end = f.iter().position(|c| *c == 0).unwrap_or(f.len());
            String::from_utf8_lossy(f.get(..end).unwrap_or_default()).into_owned()
        };
        let octal = |a: usize, b: usize| -> Result<usize, String> {
            let s = cstr(a, b);
            let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
            if s.is_empty() {
                return Ok(0);
            }
            usize::from_str_radix(s, 8)
                .map_err(|_| format!("tar: bad octal field at byte {}", off + a))
        };
        let sum = octal(148, 156)?;
        let computed: usize = h
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    usize::from(*b)
                }
            })
            .sum();
        if sum != computed {
            return Err(format!("tar: header checksum mismatch at byte {off}"));
        }
        let size = octal(124, 136)?;
        let kind = field(156, 157).first().copied().unwrap_or(0);
        let mut name = cstr(0, 100);
        if field(257, 262) == b"ustar" {
            let prefix = cstr(345, 500);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let start = off + 512;
        let data = tar
            .get(start..start.checked_add(size).ok_or("tar: size overflow")?)
            .ok_or_else(|| format!("tar: member '{name}' truncated"))?;
        match kind {
            b'L' => {
                let end = data.iter().position(|c| *c == 0).unwrap_or(data.len());
                long_name =
                    Some(String::from_utf8_lossy(data.get(..end).unwrap_or_default()).into_owned());
            }
            b'0' | 0 => out.push((long_name.take().unwrap_or(name), data)),
            _ => long_name = None,
        }
        off = start + size.div_ceil(512) * 512;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::table::{
        parse_hex_bytes, DeviceStrings, Method, Step, UsbId, HUAWEI_NEW_MESSAGE,
    };
    use super::super::tmp::TempDir;
    use super::*;
    use std::process::Command;

    /// The real usb-modeswitch-data package (listed in .ci/apt-packages).
    fn debian_pack() -> PathBuf {
        let p = PathBuf::from(DEBIAN_CONFIGPACK);
        assert!(
            p.exists(),
            "{} missing: install the Debian package usb-modeswitch-data",
            p.display()
        );
        p
    }

    /// Unpack the real data with the system tar into a fresh directory.
    fn unpacked() -> (TempDir, PathBuf) {
        let t = TempDir::new("warden-umd").unwrap();
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(debian_pack())
            .arg("-C")
            .arg(t.path())
            .output()
            .expect("run tar");
        assert!(out.status.success(), "tar failed: {:?}", out);
        let p = t.path().to_path_buf();
        (t, p)
    }

    fn check_real_data(l: &Loaded) {
        assert!(l.errors.is_empty(), "errors: {:#?}", l.errors);
        assert!(l.entries.len() > 400, "only {} entries", l.entries.len());
        let mut t = Table::default();
        t.prepend(l.entries.clone());
        let no = DeviceStrings::default();
        let e = t
            .lookup(UsbId::new(0x12d1, 0x1446), &no)
            .expect("12d1:1446");
        assert_eq!(e.method, Method::HuaweiNew);
        assert_eq!(e.target_vendor, Some(0x12d1));
        let want: Vec<u16> = [
            0x1001, 0x1404, 0x1406, 0x140b, 0x140c, 0x1412, 0x1417, 0x141b, 0x1429, 0x1432, 0x1433,
            0x1436, 0x14ac, 0x1506, 0x150c, 0x1511,
        ]
        .into();
        assert_eq!(e.target_products, want);
        let msg = parse_hex_bytes(HUAWEI_NEW_MESSAGE).unwrap();
        assert!(e.plan().unwrap().contains(&Step::BulkOut(msg)));
        // Same targets as the built-in entry.
        let b = Table::builtin();
        let bi = b.lookup(UsbId::new(0x12d1, 0x1446), &no).unwrap();
        assert_eq!(bi.target_products, e.target_products);

        // A handful of other well-known devices.
        let e = t.lookup(UsbId::new(0x19d2, 0x2000), &no).unwrap();
        assert_eq!(e.method, Method::StandardEject);
        assert!(e.is_target(UsbId::new(0x19d2, 0x0031)));
        assert_eq!(
            e.plan()
                .unwrap()
                .iter()
                .filter(|s| matches!(s, Step::BulkOut(_)))
                .count(),
            3
        );
        let e = t.lookup(UsbId::new(0x12d1, 0x1003), &no).unwrap();
        assert_eq!(e.method, Method::Huawei);
        assert_eq!(e.target_class, Some(0xff));
        assert!(matches!(
            e.plan().unwrap()[..],
            [Step::Control {
                req_type: 0,
                request: 3,
                value: 1,
                ..
            }]
        ));
        let e = t.lookup(UsbId::new(0x05c6, 0x2000), &no).unwrap();
        assert_eq!(e.method, Method::Messages);
        assert!(e.need_response);
        let e = t.lookup(UsbId::new(0x0af0, 0x6711), &no).unwrap();
        assert_eq!(e.method, Method::Option);
        let e = t.lookup(UsbId::new(0x1c9e, 0xf000), &no).unwrap();
        assert_eq!(e.wait_before, 1);
        // Qualified variants.
        let q = DeviceStrings {
            manufacturer: Some("Qualcomm, Incorporated".into()),
            ..Default::default()
        };
        let e = t.lookup(UsbId::new(0x05c6, 0x1000), &q).unwrap();
        assert_eq!(e.target_vendor, Some(0x19f5));
        // Every entry either plans or names what it lacks.
        let mut unplannable = Vec::new();
        for e in &t.entries {
            if let Err(m) = e.plan() {
                assert!(
                    m.contains("not supported") || m.contains("MBIM"),
                    "{}: {m}",
                    e.id
                );
                unplannable.push(format!("{}: {m}", e.id));
            }
        }
        assert!(unplannable.len() < 40, "{unplannable:#?}");
    }

    #[test]
    fn real_usb_modeswitch_data_directory() {
        let (_t, dir) = unpacked();
        let l = load_path(&dir).unwrap();
        check_real_data(&l);
    }

    #[cfg(feature = "configpack")]
    #[test]
    fn real_usb_modeswitch_configpack() {
        let l = load_path(&debian_pack()).unwrap();
        check_real_data(&l);
        // The archive and the unpacked directory agree entry for entry.
        let (_t, dir) = unpacked();
        let d = load_path(&dir).unwrap();
        assert_eq!(l.entries.len(), d.entries.len());
        for (a, b) in l.entries.iter().zip(&d.entries) {
            assert_eq!(
                (a.id, &a.qualifier, &a.method),
                (b.id, &b.qualifier, &b.method)
            );
            assert_eq!(a.messages, b.messages);
            assert_eq!(a.target_products, b.target_products);
        }
    }

    #[test]
    fn directory_keeps_going_past_a_bad_file() {
        let t = TempDir::new("warden-umd").unwrap();
        fs::write(
            t.path().join("12d1:1446"),
            "HuaweiNewMode=1\nTargetVendor=0x12d1\n",
        )
        .unwrap();
        fs::write(
            t.path().join("1234:5678"),
            "TargetVendor=0x1234\nTargetProduct=xyz\n",
        )
        .unwrap();
        fs::write(t.path().join("README"), "not an entry").unwrap();
        let l = load_path(t.path()).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.errors.len(), 1);
        assert!(
            l.errors[0]
                .to_string()
                .starts_with("1234:5678:2: TargetProduct"),
            "{}",
            l.errors[0]
        );
        let e = load_path(&t.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn table_precedence_and_missing_paths() {
        let t = TempDir::new("warden-umd").unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(
            a.join("12d1:1446"),
            "TargetVendor=0x12d1\nTargetProduct=0x1001\nHuaweiNewMode=1\n",
        )
        .unwrap();
        fs::write(
            b.join("12d1:1446"),
            "TargetVendor=0x12d1\nTargetProduct=0x1002\nHuaweiNewMode=1\n",
        )
        .unwrap();
        let missing = t.path().join("none");
        let (tab, errs) = table(&[a.clone(), b.clone(), missing.clone()], false).unwrap();
        assert!(errs.is_empty());
        let e = tab
            .lookup(UsbId::new(0x12d1, 0x1446), &DeviceStrings::default())
            .unwrap();
        assert_eq!(e.target_products, [0x1001]);
        assert_eq!(tab.entries.last().unwrap().source, Source::BuiltIn);
        let err = table(&[a, missing], true).unwrap_err();
        assert!(err.to_string().contains("none"), "{err}");
    }

    #[cfg(feature = "configpack")]
    #[test]
    fn bad_archives_are_errors() {
        assert_eq!(gunzip(b"PK\x03\x04", 100), Err("not a gzip file".into()));
        assert!(gunzip(&[0x1f, 0x8b, 8, 0], 100)
            .unwrap_err()
            .contains("truncated"));
        let pack = fs::read(debian_pack()).unwrap();
        for n in [10, 100, pack.len() / 2] {
            assert!(gunzip(&pack[..n], 1 << 24).is_err(), "truncated at {n}");
        }
        assert!(gunzip(&pack, 1000).is_err(), "limit not enforced");
        let tar = gunzip(&pack, 1 << 24).unwrap();
        let mut bad = tar.clone();
        bad[10] ^= 1;
        assert!(tar_members(&bad).unwrap_err().contains("checksum"));
        assert!(tar_members(&tar[..600]).unwrap_err().contains("truncated"));
        assert!(tar_members(&tar[..1100]).unwrap_err().contains("truncated"));
        assert!(tar_members(&tar).unwrap().len() > 400);
    }
}
