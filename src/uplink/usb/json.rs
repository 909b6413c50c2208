//! OpenWRT's `/etc/usb-mode.json` (openwrt/usbmode, generated from
//! usb-modeswitch-data by its `convert-modeswitch.pl`):
//!
//! ```json
//! { "messages": [ "5553424312345678...", ... ],
//!   "devices": { "12d1:1446": { "*": { "t_vendor": 4817,
//!                                       "t_product": [ 4097, 5126 ],
//!                                       "mode": "HuaweiNew", "msg": [ 0 ] } } } }
//! ```
//!
//! Device keys are `vvvv:pppp`; each maps match keys (`*` or `uMa=...`) to
//! an entry. `msg` holds indices into `messages`. Numbers are decimal.
//! A small JSON reader is enough for this: no crate needed.

use super::modeswitch::parse_entry_name;
use super::table::{parse_hex_bytes, Method, Qualifier, Source, SwitchEntry, TableError, UsbId};
use std::path::Path;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// Only whole numbers: usb-mode.json has no others, and float parsing
    /// would cost the router binary kilobytes for nothing.
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    /// Members in file order (duplicate keys kept).
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A JSON syntax error at a line.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub msg: String,
}

const MAX_DEPTH: usize = 32;

/// Parse a JSON document.
pub fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> SyntaxError {
        let upto = self.s.get(..self.i).unwrap_or(self.s);
        SyntaxError {
            line: 1 + upto.iter().filter(|b| **b == b'\n').count(),
            msg: msg.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, word: &str, v: Json) -> Result<Json, SyntaxError> {
        if self.s.get(self.i..self.i + word.len()) == Some(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.ws();
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                if self.eat(b'}') {
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    m.push((k, self.value(depth + 1)?));
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b'}') {
                        return Ok(Json::Obj(m));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b']') {
                        return Ok(Json::Arr(a));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.lit("true", Json::Bool(true)),
            Some(b'f') => self.lit("false", Json::Bool(false)),
            Some(b'n') => self.lit("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
                    .unwrap_or_default();
                if t.contains(['.', 'e', 'E']) {
                    return Err(self.err("only whole numbers are supported"));
                }
                t.parse::<i64>()
                    .map(Json::Int)
                    .map_err(|_| self.err("bad number"))
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            self.i += 4;
                            // Surrogates are replaced: nothing here needs them.
                            char::from_u32(hex).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(self.err("bad escape")),
                    };
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                c if c < 0x20 => return Err(self.err("control character in string")),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }
}

/// Read every entry of a usb-mode.json document. `file` names it in errors.
/// A document that is not usb-mode.json is an error; a bad device entry is
/// reported in the second list and skipped.
pub fn parse_usb_mode_json(
    file: &Path,
    text: &str,
) -> Result<(Vec<SwitchEntry>, Vec<TableError>), TableError> {
    let name = file.display().to_string();
    let err = |line: usize, msg: String| TableError::new(name.clone(), line, msg);
    let doc = parse(text).map_err(|e| err(e.line, e.msg))?;
    let Some(Json::Arr(msgs)) = doc.get("messages") else {
        return Err(err(0, "no \"messages\" array".into()));
    };
    let Some(Json::Obj(devices)) = doc.get("devices") else {
        return Err(err(0, "no \"devices\" object".into()));
    };
    let messages = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            Json::Str(s) => parse_hex_bytes(s).map_err(|e| err(0, format!("messages[{i}]: {e}"))),
            _ => Err(err(0, format!("messages[{i}]: not a string"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (key, variants) in devices {
        let id: UsbId = match key.parse() {
            Ok(id) => id,
            Err(e) => {
                bad.push(err(0, format!("devices: {e}")));
                continue;
            }
        };
        let Json::Obj(variants) = variants else {
            bad.push(err(0, format!("devices.\"{key}\": not an object")));
            continue;
        };
        for (mkey, obj) in variants {
            let at = format!("devices.\"{key}\".\"{mkey}\"");
            // convert-modeswitch.pl keeps the ':' of `12d1:1446:uMa=...`.
            let m = mkey.strip_prefix(':').unwrap_or(mkey);
            let qualifier = if m == "*" {
                None
            } else {
                match parse_entry_name(&format!("{key}:{m}")) {
                    Some(Ok((_, q))) => q,
                    Some(Err(e)) => {
                        bad.push(err(0, format!("{at}: {e}")));
                        continue;
                    }
                    None => {
                        bad.push(err(0, format!("{at}: bad match key")));
                        continue;
                    }
                }
            };
            match device_entry(id, qualifier, obj, &messages, Source::File(file.into())) {
                Ok(e) => out.push(e),
                Err(m) => bad.push(err(0, format!("{at}: {m}"))),
            }
        }
    }
    Ok((out, bad))
}

#[inline(never)]
fn json_uint(k: &str, v: &Json, max: u32) -> Result<u32, String> {
    match v {
        Json::Int(n) if (0..=i64::from(max)).contains(n) => Ok(*n as u32),
        _ => Err(format!("\"{k}\": expected a whole number up to {max}")),
    }
}

#[inline(never)]
fn json_bool(k: &str, v: &Json) -> Result<bool, String> {
    match v {
        Json::Bool(b) => Ok(*b),
        _ => Err(format!("\"{k}\": expected true or false")),
    }
}

fn device_entry(
    id: UsbId,
    qualifier: Option<Qualifier>,
    obj: &Json,
    messages: &[Vec<u8>],
    source: Source,
) -> Result<SwitchEntry, String> {
    let Json::Obj(fields) = obj else {
        return Err("not an object".into());
    };
    let mut e = SwitchEntry::new(id, source);
    e.qualifier = qualifier;
    let mut mode: Option<String> = None;
    let mut modeval: Option<u16> = None;
    for (k, v) in fields {
        let int = |max: u32| json_uint(k, v, max);
        let boolean = || json_bool(k, v);
        let u8v = || json_uint(k, v, 255).map(|n| n as u8);
        match k.as_str() {
            "t_vendor" => e.target_vendor = Some(int(65535)? as u16),
            "t_product" => {
                let Json::Arr(a) = v else {
                    return Err("\"t_product\": expected an array".into());
                };
                e.target_products = a
                    .iter()
                    .map(|p| match p {
                        Json::Int(n) => u16::try_from(*n)
                            .map_err(|_| "\"t_product\": expected product ids".to_string()),
                        _ => Err("\"t_product\": expected product ids".to_string()),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "t_class" => e.target_class = Some(u8v()?),
            "modeval" => modeval = Some(int(65535)? as u16),
            "mode" => match v {
                Json::Str(s) => mode = Some(s.clone()),
                _ => return Err("\"mode\": expected a string".into()),
            },
            "msg" => {
                let Json::Arr(a) = v else {
                    return Err("\"msg\": expected an array".into());
                };
                for m in a {
                    let idx = match m {
                        Json::Int(n) => usize::try_from(*n)
                            .map_err(|_| "\"msg\": expected message indices".to_string())?,
                        _ => return Err("\"msg\": expected message indices".into()),
                    };
                    let bytes = messages
                        .get(idx)
                        .ok_or_else(|| format!("\"msg\": index {idx} out of range"))?;
                    e.messages.push(bytes.clone());
                }
            }
            "msg_endpoint" => e.message_endpoint = Some(u8v()?),
            "response_endpoint" => e.response_endpoint = Some(u8v()?),
            "interface" => e.interface = Some(u8v()?),
            "config" => e.configuration = Some(u8v()?),
            "alt" => e.alt_setting = Some(u8v()?),
            "response" => e.need_response = boolean()?,
            "wait" => e.wait_before = int(3600)?,
            "release_delay" => e.release_delay_ms = int(600_000)?,
            "reset" => e.reset_usb = boolean()?,
            "no_driver" => e.no_driver_loading = boolean()?,
            "detach_storage" => {
                if boolean()? {
                    mode.get_or_insert_with(|| "DetachStorageOnly".into());
                }
            }
            // Success checking is always on in warden.
            "check" | "inquire" => {}
            other => return Err(format!("unknown field \"{other}\"")),
        }
    }
    e.method = match mode.as_deref() {
        None | Some("Generic") if !e.messages.is_empty() => Method::Messages,
        None | Some("Generic") => Method::ConfigOnly,
        Some("HuaweiNew") => Method::HuaweiNew,
        Some("Huawei") => Method::Huawei,
        Some("StandardEject") => Method::StandardEject,
        Some("Option") => Method::Option,
        Some("Sierra") => Method::Sierra,
        Some("Sony") => Method::Sony,
        Some("Qisda") => Method::Qisda,
        Some("Quanta") => Method::Quanta,
        Some("GCT") => Method::Gct,
        Some("Kobil") => Method::Kobil,
        Some("Sequans") => Method::Sequans,
        Some("MobileAction") => Method::MobileAction,
        Some("Cisco") => Method::Cisco,
        Some("Blackberry") => Method::Blackberry,
        Some("Pantech") => Method::Pantech(modeval.unwrap_or(1)),
        Some("MBIM") => Method::Mbim,
        Some("DetachStorageOnly") => Method::DetachOnly,
        Some(other) => return Err(format!("unknown mode \"{other}\"")),
    };
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::super::table::{Step, HUAWEI_NEW_MESSAGE};
    use super::*;

    #[test]
    fn json_values() {
        let v = parse(r#" { "a": [1, -25, true, false, null], "b\u0041\n": "x\"y" } "#).unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Json::Arr(vec![
                Json::Int(1),
                Json::Int(-25),
                Json::Bool(true),
                Json::Bool(false),
                Json::Null
            ]))
        );
        assert_eq!(v.get("bA\n"), Some(&Json::Str("x\"y".into())));
    }

    #[test]
    fn json_errors_have_lines_and_never_panic() {
        for (text, line) in [
            ("{\n\"a\": }", 2),
            ("[1,\n2", 2),
            ("\"abc", 1),
            ("{\"a\" 1}", 1),
            ("[1] x", 1),
            ("tru", 1),
            ("\"\\u12\"", 1),
            ("", 1),
            ("[1.5]", 1),
            ("99999999999999999999", 1),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e:?}");
        }
        let deep = "[".repeat(100);
        assert!(parse(&deep).unwrap_err().msg.contains("deeply"));
        // Truncations of a valid document are errors, not panics.
        let doc = r#"{"messages":["55534243"],"devices":{"12d1:1446":{"*":{"msg":[0]}}}}"#;
        for n in 0..doc.len() {
            assert!(parse(&doc[..n]).is_err());
        }
    }

    /// Written in the layout `convert-modeswitch.pl` prints.
    const SAMPLE: &str = r#"{
	"messages" : [
		"55534243123456780000000000000011062000000101000100000000000000",
		"555342431234567800000000000001ff000000000000000000000000000000"
	],

	"devices" : {
		"12d1:1446": {
			"*": {
				"t_vendor": 4817,
				"t_product": [ 4097, 5124, 5382 ],
				"mode": "HuaweiNew"
			}
		},
		"10a9:6080": {
			"*": {
				"t_vendor": 4265,
				"t_product": [ 24709 ],
				"mode": "Pantech",
				"modeval": 2
			}
		},
		"1c9e:f000": {
			"*": {
				"t_vendor": 7326,
				"t_product": [ 36864 ],
				"msg": [ 1 ],
				"wait": 1
			},
			":uMa=USB_Modem": {
				"t_vendor": 7326,
				"t_product": [ 39171 ],
				"mode": "StandardEject",
				"msg": [ 1 ],
				"response": true
			}
		}
	}
}
"#;

    #[test]
    fn usb_mode_json() {
        let (es, bad) = parse_usb_mode_json(Path::new("/etc/usb-mode.json"), SAMPLE).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(es.len(), 4);
        let e367 = &es[0];
        assert_eq!(e367.id, UsbId::new(0x12d1, 0x1446));
        assert_eq!(e367.method, Method::HuaweiNew);
        assert!(e367.is_target(UsbId::new(0x12d1, 0x1506)));
        assert!(e367
            .plan()
            .unwrap()
            .contains(&Step::BulkOut(parse_hex_bytes(HUAWEI_NEW_MESSAGE).unwrap())));
        assert_eq!(es[1].method, Method::Pantech(2));
        let es = &es[1..];
        assert_eq!(es[1].method, Method::Messages);
        assert_eq!(es[1].wait_before, 1);
        assert_eq!(es[1].plan().unwrap().first(), Some(&Step::Sleep(1000)));
        assert_eq!(
            es[2].qualifier,
            Some(Qualifier::Manufacturer("USB_Modem".into()))
        );
        assert_eq!(es[2].method, Method::StandardEject);
    }

    #[test]
    fn usb_mode_json_errors() {
        let p = Path::new("u.json");
        let e = parse_usb_mode_json(p, "{}").unwrap_err();
        assert_eq!(e.to_string(), "u.json: no \"messages\" array");
        let bad_one = |doc: &str| {
            let (es, mut bad) = parse_usb_mode_json(p, doc).unwrap();
            assert_eq!((es.len(), bad.len()), (1, 1), "{bad:?}");
            bad.remove(0).to_string()
        };
        let e = bad_one(
            r#"{"messages":[],"devices":{"12d1:1446":{"*":{"msg":[3]}},"12d1:1449":{"*":{}}}}"#,
        );
        assert!(e.contains("index 3 out of range"), "{e}");
        let e = bad_one(
            r#"{"messages":[],"devices":{"12d1:1446":{"*":{"mode":"Warp"}},"12d1:1449":{"*":{}}}}"#,
        );
        assert!(
            e.contains("devices.\"12d1:1446\".\"*\": unknown mode"),
            "{e}"
        );
        let e = bad_one(r#"{"messages":[],"devices":{"zz":{},"12d1:1449":{"*":{}}}}"#);
        assert!(e.contains("not a USB id"), "{e}");
        let e = parse_usb_mode_json(p, r#"{"messages":["xx"],"devices":{}}"#).unwrap_err();
        assert!(e.to_string().contains("messages[0]"), "{e}");
        let e = parse_usb_mode_json(p, "{\n\"messages\": [,]}").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
