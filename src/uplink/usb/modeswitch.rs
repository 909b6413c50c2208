//! usb-modeswitch-data's files: one `Key=Value` file per device
//! (`12d1:1446`, or a standalone `/etc/usb_modeswitch.d/*.conf` naming its
//! `DefaultVendor`/`DefaultProduct`), parsed into a [`SwitchEntry`] with
//! errors that name the file and line. OpenWRT's `/etc/usb-mode.json` is
//! [`super::json`]'s; both feed the [`super::table`]. Pure: text in.

use super::table::{
    parse_hex16, parse_hex8, parse_hex_bytes, Method, Qualifier, Source, SwitchEntry, TableError,
    UsbId,
};
use std::path::Path;

/// Parse the file name of a usb-modeswitch-data entry: `12d1:1446` or
/// `05c6:1000:uMa=Qualcomm`. None for names that are not entries.
pub fn parse_entry_name(name: &str) -> Option<Result<(UsbId, Option<Qualifier>), String>> {
    let b = name.as_bytes();
    let is_hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    if b.len() < 9 || b.get(4) != Some(&b':') || !is_hex(b.get(..4)?) || !is_hex(b.get(5..9)?) {
        return None;
    }
    let id = name.get(..9)?.parse::<UsbId>().ok()?;
    Some(match name.get(9..) {
        None | Some("") => Ok((id, None)),
        Some(rest) => match rest.strip_prefix(':') {
            Some(q) => Qualifier::parse(q).map(|q| (id, Some(q))),
            None => Err(format!("'{name}': junk after the id")),
        },
    })
}

/// Parse one usb-modeswitch-data file (`Key=Value` lines, `#` comments).
/// `name` is the file name (`12d1:1446`, or anything when the file carries
/// `DefaultVendor`/`DefaultProduct`), used for the id and in errors.
pub fn parse_data_file(name: &str, source: Source, text: &str) -> Result<SwitchEntry, TableError> {
    let err = |line: usize, msg: String| TableError::new(name.to_string(), line, msg);
    let base = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name);
    let from_name = match parse_entry_name(base) {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => return Err(err(0, e)),
        None => None,
    };
    let mut e = SwitchEntry::new(UsbId::new(0, 0), source);
    let mut st = Keys::default();
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            // The first comment names the device.
            if e.name.is_none() && !c.trim().is_empty() {
                e.name = Some(c.trim().to_string());
            }
            continue;
        }
        // usb_modeswitch ignores lines without '=' or with a comment
        // character (; # !) before it.
        let Some(eq) = line.find('=') else { continue };
        if line.find([';', '#', '!']).is_some_and(|c| c < eq) {
            continue;
        }
        let (key, val) = (line[..eq].trim(), line[eq + 1..].trim());
        let val = match (val.find('"'), val.rfind('"')) {
            (Some(a), Some(b)) if b > a => &val[a + 1..b],
            (Some(_), _) => return Err(err(ln, format!("{key}: missing closing quote"))),
            _ => val,
        };
        apply_key(&mut e, &mut st, key, val).map_err(|m| err(ln, m))?;
    }
    let Keys {
        dv,
        dp,
        modes,
        msgs,
    } = st;
    e.id = match (from_name, dv, dp) {
        (Some((id, q)), v, p) => {
            if v.is_some_and(|v| v != id.vendor) || p.is_some_and(|p| p != id.product) {
                return Err(err(
                    0,
                    "DefaultVendor/DefaultProduct differ from the file name".into(),
                ));
            }
            e.qualifier = q;
            id
        }
        (None, Some(v), Some(p)) => UsbId::new(v, p),
        (None, _, _) => {
            return Err(err(
                0,
                "no device id: name the file vvvv:pppp or set DefaultVendor and DefaultProduct"
                    .into(),
            ))
        }
    };
    let specials: Vec<&str> = modes
        .iter()
        .copied()
        .filter(|m| *m != "StandardEject")
        .collect();
    if specials.len() > 1 {
        return Err(err(
            0,
            format!("more than one special mode: {}", specials.join(", ")),
        ));
    }
    e.messages = msgs.into_iter().flatten().collect();
    if modes.contains(&"StandardEject") && specials.is_empty() {
        e.method = Method::StandardEject;
    } else if modes.contains(&"DetachStorageOnly") {
        e.method = Method::DetachOnly;
    } else if specials.is_empty() && !e.messages.is_empty() {
        e.method = Method::Messages;
    }
    Ok(e)
}

/// What a data file says besides the entry's own fields.
#[derive(Default)]
struct Keys {
    dv: Option<u16>,
    dp: Option<u16>,
    modes: Vec<&'static str>,
    msgs: [Option<Vec<u8>>; 3],
}

/// A `Key=value` of a data file, with typed readers whose errors name both.
/// (Not inlined: one copy of each error path keeps the router binary small.)
struct KeyVal<'a> {
    key: &'a str,
    val: &'a str,
}

impl KeyVal<'_> {
    #[inline(never)]
    fn bad(&self, what: &str) -> String {
        format!("{}: '{}' is not {what}", self.key, self.val)
    }
    fn hex16(&self) -> Result<u16, String> {
        parse_hex16(self.val).ok_or_else(|| self.bad("a hex number"))
    }
    fn hex8(&self) -> Result<u8, String> {
        parse_hex8(self.val).ok_or_else(|| self.bad("a hex byte"))
    }
    fn int(&self) -> Result<u32, String> {
        self.val.parse().map_err(|_| self.bad("a whole number"))
    }
    fn flag(&self) -> Result<bool, String> {
        parse_flag(self.val).ok_or_else(|| self.bad("0/1"))
    }
    fn msg(&self) -> Result<Vec<u8>, String> {
        parse_hex_bytes(self.val).map_err(|m| format!("{}: {m}", self.key))
    }
}

fn apply_key(e: &mut SwitchEntry, st: &mut Keys, key: &str, val: &str) -> Result<(), String> {
    let kv = KeyVal { key, val };
    match key {
        "DefaultVendor" => st.dv = Some(kv.hex16()?),
        "DefaultProduct" => st.dp = Some(kv.hex16()?),
        "TargetVendor" => e.target_vendor = Some(kv.hex16()?),
        "TargetProduct" => e.target_products = vec![kv.hex16()?],
        "TargetProductList" => {
            e.target_products = val
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    parse_hex16(s)
                        .ok_or_else(|| format!("TargetProductList: '{}' is not a hex id", s.trim()))
                })
                .collect::<Result<_, _>>()?
        }
        "TargetClass" => e.target_class = Some(kv.hex8()?),
        "MessageContent" => st.msgs[0] = Some(kv.msg()?),
        "MessageContent2" => st.msgs[1] = Some(kv.msg()?),
        "MessageContent3" => st.msgs[2] = Some(kv.msg()?),
        "MessageEndpoint" => e.message_endpoint = Some(kv.hex8()?),
        "ResponseEndpoint" => e.response_endpoint = Some(kv.hex8()?),
        "Interface" => e.interface = Some(kv.hex8()?),
        "Configuration" => e.configuration = Some(kv.hex8()?),
        "AltSetting" => e.alt_setting = Some(kv.hex8()?),
        "NeedResponse" => e.need_response = kv.flag()?,
        "WaitBefore" => e.wait_before = kv.int()?,
        "ReleaseDelay" => e.release_delay_ms = kv.int()?,
        // Seconds of success checking: warden always checks, bounded by its
        // own timeout.
        "CheckSuccess" => {
            kv.int()?;
        }
        "ResetUSB" => e.reset_usb = kv.flag()?,
        "NoDriverLoading" => e.no_driver_loading = kv.flag()?,
        "InquireDevice" | "NoMBIMCheck" => {
            kv.flag()?;
        }
        "DetachStorageOnly" | "StandardEject" => {
            if kv.flag()? {
                st.modes.push(if key == "StandardEject" {
                    "StandardEject"
                } else {
                    "DetachStorageOnly"
                })
            }
        }
        "PantechMode" => {
            let v = kv.int()?;
            if v > 0 {
                let v = u16::try_from(v).map_err(|_| kv.bad("a mode value"))?;
                e.method = Method::Pantech(v);
                st.modes.push("PantechMode");
            }
        }
        k => match special_mode(k) {
            Some((label, m)) => {
                if kv.flag()? {
                    e.method = m;
                    st.modes.push(label);
                }
            }
            None => return Err(format!("unknown key '{k}'")),
        },
    }
    Ok(())
}

fn parse_flag(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn special_mode(key: &str) -> Option<(&'static str, Method)> {
    Some(match key {
        "HuaweiMode" => ("HuaweiMode", Method::Huawei),
        "HuaweiNewMode" => ("HuaweiNewMode", Method::HuaweiNew),
        "OptionMode" => ("OptionMode", Method::Option),
        "SierraMode" => ("SierraMode", Method::Sierra),
        "SonyMode" => ("SonyMode", Method::Sony),
        "QisdaMode" => ("QisdaMode", Method::Qisda),
        "QuantaMode" => ("QuantaMode", Method::Quanta),
        "GCTMode" => ("GCTMode", Method::Gct),
        "KobilMode" => ("KobilMode", Method::Kobil),
        "SequansMode" => ("SequansMode", Method::Sequans),
        "MobileActionMode" => ("MobileActionMode", Method::MobileAction),
        "CiscoMode" => ("CiscoMode", Method::Cisco),
        "BlackberryMode" => ("BlackberryMode", Method::Blackberry),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<SwitchEntry, TableError> {
        parse_data_file(name, Source::File(name.into()), text)
    }

    #[test]
    fn data_file_errors_name_file_and_line() {
        let e = parse("12d1:1446", "TargetVendor=0x12d1\nTargetProduct=zz\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "12d1:1446:2: TargetProduct: 'zz' is not a hex number"
        );
        let e = parse("12d1:1446", "MessageContent=\"abc\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains(":1: MessageContent: hex string of odd length"),
            "{e}"
        );
        let e = parse("12d1:1446", "Frobnicate=1\n").unwrap_err();
        assert!(e.to_string().contains("unknown key 'Frobnicate'"), "{e}");
        let e = parse("12d1:1446", "HuaweiMode=1\nSierraMode=1\n").unwrap_err();
        assert!(e.to_string().contains("more than one special mode"), "{e}");
        let e = parse("my.conf", "TargetVendor=1\n").unwrap_err();
        assert!(e.to_string().contains("no device id"), "{e}");
        let e = parse("12d1:1446:zz=1", "").unwrap_err();
        assert!(e.to_string().contains("unknown qualifier"), "{e}");
        let e = parse("12d1:1446", "MessageContent=\"55\n").unwrap_err();
        assert!(e.to_string().contains("missing closing quote"), "{e}");
    }

    #[test]
    fn standalone_file_with_default_ids() {
        let e = parse(
            "/etc/usb_modeswitch.d/e367.conf",
            "DefaultVendor=0x12d1\nDefaultProduct=0x1446\nHuaweiNewMode=1\n",
        )
        .unwrap();
        assert_eq!(e.id, UsbId::new(0x12d1, 0x1446));
        let e = parse("12d1:1446", "DefaultVendor=0x12d1\nDefaultProduct=0x1447\n").unwrap_err();
        assert!(e.msg.contains("differ"));
    }
}
