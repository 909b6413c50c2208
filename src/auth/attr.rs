//! Factotum attributes: `name=value` pairs, `name?` queries, Plan 9 quoting.
//!
//! This follows plan9port exactly:
//! - tokens are split by `tokenize` (src/lib9/tokenize.c): white space
//!   (` \t\r\n`) separates, single quotes group, a doubled quote inside
//!   quotes is one quote;
//! - a token holding `=` is `name=value`, split at the first `=`; a token
//!   ending in `?` is the query `name?`; any other token is `name=` with an
//!   empty value; queries for names that also have a value are dropped
//!   (`_parseattr`/`cleanattr` in src/libauth/attr.c);
//! - printing quotes a string that is empty or holds a character `<= ' '`
//!   or a quote (`%q`, src/lib9/fmt/fmtquote.c) and joins attributes with
//!   one space (`%A`);
//! - matching is `matchattr` of src/cmd/auth/factotum/attr.c.
//!
//! A name starting with `!` is a secret. [`Attrs`]' `Display` and `Debug`
//! never show a secret's value (it prints `!name?`); only
//! [`Attrs::to_wire`] does, for the one place that must send a key to the
//! agent. Every name and value is zeroized when dropped.

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// What kind of element an attribute is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `name=value`
    Val,
    /// `name?`: the key must have the attribute, any value.
    Query,
}

/// One attribute.
#[derive(Clone, PartialEq, Eq)]
pub struct Attr {
    pub kind: Kind,
    pub name: String,
    pub val: String,
}

impl Drop for Attr {
    fn drop(&mut self) {
        self.name.zeroize();
        self.val.zeroize();
    }
}

impl Attr {
    pub fn val(name: &str, val: &str) -> Attr {
        Attr {
            kind: Kind::Val,
            name: name.to_string(),
            val: val.to_string(),
        }
    }

    pub fn query(name: &str) -> Attr {
        Attr {
            kind: Kind::Query,
            name: name.to_string(),
            val: String::new(),
        }
    }

    /// A secret attribute (`!name`): its value never leaves the agent.
    pub fn is_secret(&self) -> bool {
        self.name.starts_with('!')
    }
}

impl fmt::Debug for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_attr(f, self, false)
    }
}

/// An ordered list of attributes (order matters for printing; duplicates
/// are allowed, as in Plan 9).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attrs(pub Vec<Attr>);

/// Does `s` need quoting when printed (`%q`)?
pub fn needs_quote(s: &str) -> bool {
    s.is_empty() || s.chars().any(|c| c <= ' ' || c == '\'')
}

/// Append `s` to `out`, quoted as `%q` does.
pub fn quote_into(out: &mut String, s: &str) {
    if !needs_quote(s) {
        out.push_str(s);
        return;
    }
    out.push('\'');
    for c in s.chars() {
        out.push(c);
        if c == '\'' {
            out.push('\'');
        }
    }
    out.push('\'');
}

/// `s` quoted as `%q` does.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Split `s` into tokens as Plan 9's `tokenize` does. The tokens are
/// zeroized when dropped since they may hold secrets, and each is built in
/// a buffer allocated once (a growing buffer would leave copies behind).
pub fn tokenize(s: &str) -> Vec<Zeroizing<String>> {
    let mut toks = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(is_sep);
        if rest.is_empty() {
            return toks;
        }
        // find the token's end first (`etoken`), then unquote into place
        let mut quoting = false;
        let mut end = rest.len();
        let mut it = rest.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if !quoting && is_sep(c) {
                end = i;
                break;
            }
            if c == '\'' {
                if !quoting {
                    quoting = true;
                } else if it.peek().is_some_and(|&(_, n)| n == '\'') {
                    it.next();
                } else {
                    quoting = false;
                }
            }
        }
        let raw = rest.get(..end).unwrap_or(rest);
        rest = rest.get(end..).unwrap_or("");
        let mut tok = Zeroizing::new(String::with_capacity(raw.len()));
        let mut quoting = false;
        let mut it = raw.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\'' {
                tok.push(c);
            } else if !quoting {
                quoting = true;
            } else if it.peek() == Some(&'\'') {
                // doubled quote inside quotes: one quote
                it.next();
                tok.push('\'');
            } else {
                quoting = false;
            }
        }
        toks.push(tok);
    }
}

/// Does every quote in `s` end? Plan 9's `tokenize` silently runs an
/// unterminated quote to the end of the line, which would fold whatever
/// follows (a `!password=...`, say) into the quoted value; input from
/// people and files is checked with this first ([`parse_checked`]).
pub fn quotes_end(s: &str) -> bool {
    // inside quotes, `''` is a quote and leaves the quote open, so
    // counting quotes is enough: an odd count leaves one open
    s.chars().filter(|&c| c == '\'').count() % 2 == 0
}

/// Why [`parse_checked`] refused a line. The messages name attributes,
/// never values: the line may hold secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// A quote that does not end.
    UnterminatedQuote,
    /// The same secret attribute twice (`!password=a !password=b`).
    DuplicateSecret(String),
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::UnterminatedQuote => write!(f, "syntax error: unterminated quote"),
            SyntaxError::DuplicateSecret(n) => write!(f, "syntax error: {n} given twice"),
        }
    }
}

/// [`parse`] for lines from people and files (ctl writes, `warden key
/// add`, the keyfs record): an unterminated quote or a secret attribute
/// given twice is an error instead of a guess.
pub fn parse_checked(s: &str) -> Result<Attrs, SyntaxError> {
    if !quotes_end(s) {
        return Err(SyntaxError::UnterminatedQuote);
    }
    let a = parse(s);
    for (i, x) in a.0.iter().enumerate() {
        if x.is_secret()
            && x.kind == Kind::Val
            && a.0
                .iter()
                .skip(i + 1)
                .any(|y| y.kind == Kind::Val && y.name == x.name)
        {
            return Err(SyntaxError::DuplicateSecret(x.name.clone()));
        }
    }
    Ok(a)
}

/// Parse attributes as plan9port's `_parseattr`. Never fails: as in Plan 9,
/// a bare word is an attribute with an empty value.
pub fn parse(s: &str) -> Attrs {
    let mut v = Vec::new();
    for t in tokenize(s) {
        if let Some((name, val)) = t.split_once('=') {
            v.push(Attr::val(name, val));
        } else if let Some(name) = t.strip_suffix('?') {
            v.push(Attr::query(name));
        } else {
            v.push(Attr::val(&t, ""));
        }
    }
    // cleanattr: drop queries for names that have a value
    let keep: Vec<bool> = v
        .iter()
        .map(|a| a.kind == Kind::Val || !v.iter().any(|b| b.kind == Kind::Val && b.name == a.name))
        .collect();
    let mut keep = keep.into_iter();
    v.retain(|_| keep.next().unwrap_or(true));
    Attrs(v)
}

fn write_attr(f: &mut impl fmt::Write, a: &Attr, secrets: bool) -> fmt::Result {
    let mut s = Zeroizing::new(String::new());
    quote_into(&mut s, &a.name);
    match a.kind {
        Kind::Query => s.push('?'),
        Kind::Val if a.is_secret() && !secrets => s.push('?'),
        Kind::Val => {
            s.push('=');
            quote_into(&mut s, &a.val);
        }
    }
    f.write_str(&s)
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Attr> {
        self.0.iter()
    }

    /// The first `name=value` (not a query) named `name` (`_findattr`).
    pub fn find(&self, name: &str) -> Option<&Attr> {
        self.0
            .iter()
            .find(|a| a.kind == Kind::Val && a.name == name)
    }

    /// The value of `name` (`_strfindattr`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name).map(|a| a.val.as_str())
    }

    /// Set `name=val`, replacing every element named `name`.
    pub fn set(&mut self, name: &str, val: &str) {
        self.add(&Attrs(vec![Attr::val(name, val)]));
    }

    /// Remove every element named `name` (`_delattr`).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|a| a.name != name);
    }

    pub fn push(&mut self, a: Attr) {
        self.0.push(a);
    }

    /// `addattrs`: a value in `b` replaces all of `a`'s elements with that
    /// name; a query in `b` is added unless `a` has a value for it.
    pub fn add(&mut self, b: &Attrs) {
        for x in b.iter() {
            match x.kind {
                Kind::Val => {
                    self.remove(&x.name);
                    self.0.push(x.clone());
                }
                Kind::Query => {
                    if self.find(&x.name).is_none() {
                        self.0.push(x.clone());
                    }
                }
            }
        }
    }

    /// Sort by name, as the ctl listing does (`sortattr`).
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    }

    /// Split off the secret elements (names starting with `!`).
    pub fn split_secrets(self) -> (Attrs, Attrs) {
        let (s, p): (Vec<Attr>, Vec<Attr>) = self.0.into_iter().partition(|a| a.is_secret());
        (Attrs(p), Attrs(s))
    }

    /// The text with secret values, for sending a key to the agent
    /// (`key %A`). The result is zeroized on drop; never log it.
    pub fn to_wire(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::new());
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            // writing to a String cannot fail
            let _ = write_attr(&mut *s, a, true);
        }
        s
    }

    /// The names only, each as `name?` (`%N`): how secrets are listed.
    pub fn names(&self) -> Names<'_> {
        Names(self)
    }
}

impl fmt::Display for Attrs {
    /// `%A`, except that a secret's value shows as `!name?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write_attr(f, a, false)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attrs({self})")
    }
}

/// Display adapter for `%N`: every element as `name?`.
pub struct Names<'a>(&'a Attrs);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&quote(&a.name))?;
            f.write_str("?")?;
        }
        Ok(())
    }
}

/// Attributes a pattern treats as defaults: `name=val` must match only if
/// the key has the name at all (`ignored[]` in factotum's attr.c).
const IGNORED: [&str; 2] = ["role", "disabled"];

fn has_name(a0: &Attrs, a1: Option<&Attrs>, name: &str) -> bool {
    a0.find(name).is_some() || a1.is_some_and(|a| a.find(name).is_some())
}

fn has_name_val(a0: &Attrs, a1: Option<&Attrs>, name: &str, val: &str) -> bool {
    let hit = |a: &Attrs| {
        a.iter().any(|x| {
            x.kind == Kind::Val
                && x.name == name
                && (if x.is_secret() {
                    crate::auth::ct_eq(x.val.as_bytes(), val.as_bytes())
                } else {
                    x.val == val
                })
        })
    };
    hit(a0) || a1.is_some_and(hit)
}

/// Does a key with public attributes `a0` and secret ones `a1` satisfy
/// `pat`? Every element must hold: `name?` needs the name, `name=val` needs
/// that value, and `role`/`disabled` need the value only if present.
pub fn matches(pat: &Attrs, a0: &Attrs, a1: Option<&Attrs>) -> bool {
    pat.iter().all(|p| {
        let kind = if IGNORED.contains(&p.name.as_str()) {
            None
        } else {
            Some(p.kind)
        };
        match kind {
            Some(Kind::Query) => has_name(a0, a1, &p.name),
            Some(Kind::Val) => has_name_val(a0, a1, &p.name, &p.val),
            None => !has_name(a0, a1, &p.name) || has_name_val(a0, a1, &p.name, &p.val),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn show(a: &Attrs) -> String {
        a.to_wire().to_string()
    }

    #[test]
    fn tokenize_quotes() {
        let t: Vec<String> = tokenize("  a 'b c'\td''e 'don''t tell' '' x'y'z")
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(t, ["a", "b c", "de", "don't tell", "", "xyz"]);
        // an unterminated quote runs to the end
        let t: Vec<String> = tokenize("a 'b c").iter().map(|s| s.to_string()).collect();
        assert_eq!(t, ["a", "b c"]);
    }

    #[test]
    fn checked_parse_refuses_what_parse_would_guess() {
        let line = "proto=pass server='unterminated !password=X";
        let e = parse_checked(line).unwrap_err();
        assert_eq!(e, SyntaxError::UnterminatedQuote);
        assert!(!e.to_string().contains('X'), "{e}");
        // parse alone folds the secret into a public value
        assert_eq!(parse(line).get("server"), Some("unterminated !password=X"));
        let e = parse_checked("proto=pass !password=a user=u !password=b").unwrap_err();
        assert_eq!(e, SyntaxError::DuplicateSecret("!password".into()));
        assert_eq!(e.to_string(), "syntax error: !password given twice");
        // doubled quotes inside quotes and empty quoted values are fine
        let a = parse_checked("server='don''t' user='' !password=x").unwrap();
        assert_eq!(a.get("server"), Some("don't"));
        // a query beside a value, or a public name twice, is not a duplicate
        assert!(parse_checked("!password? !password=x role=a role=b").is_ok());
        assert!(!quotes_end("a='b''"));
        assert!(quotes_end("a='b''' c=''"));
        assert_eq!(parse("a='b'''").get("a"), Some("b'"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("don't tell"), "'don''t tell'");
        assert_eq!(quote("a\tb"), "'a\tb'");
        assert_eq!(quote("ünïcode"), "ünïcode");
    }

    #[test]
    fn parse_kinds() {
        let a = parse("proto=pass user? !password=x=y bare role=client");
        assert_eq!(
            show(&a),
            "proto=pass user? !password=x=y bare='' role=client"
        );
        assert_eq!(a.get("!password"), Some("x=y"));
        assert_eq!(a.get("user"), None);
        // a query is dropped when the name has a value
        assert_eq!(show(&parse("user? user=glenda")), "user=glenda");
        // quotes do not protect '=': the first one splits
        assert_eq!(parse("'a=b'").get("a"), Some("b"));
    }

    #[test]
    fn display_hides_secrets() {
        let a = parse("proto=pass user=glenda !password='open sesame'");
        assert_eq!(a.to_string(), "proto=pass user=glenda !password?");
        assert_eq!(format!("{a:?}"), "Attrs(proto=pass user=glenda !password?)");
        assert!(!format!("{:?}", a.0[2]).contains("sesame"));
        let (p, s) = a.split_secrets();
        assert_eq!(p.to_string(), "proto=pass user=glenda");
        assert_eq!(s.names().to_string(), "!password?");
    }

    #[test]
    fn matching() {
        let key = parse("proto=apop user=glenda dom=bell-labs.com role=client");
        let sec = parse("!password=x");
        let m = |p: &str| matches(&parse(p), &key, Some(&sec));
        assert!(m("proto=apop"));
        assert!(m("proto=apop user? !password?"));
        assert!(!m("proto=apop user? !password? server?"));
        assert!(!m("proto=pass"));
        assert!(m("role=client"));
        assert!(!m("role=server"));
        // role is a default: a key without role matches any role
        let key2 = parse("proto=apop user=glenda");
        assert!(matches(&parse("role=server"), &key2, None));
        assert!(m("!password=x"));
        assert!(!m("!password=y"));
    }

    #[test]
    fn add_replaces() {
        let mut a = parse("proto=apop role=client user? x=1");
        a.add(&parse("user=glenda x=2 dom?"));
        assert_eq!(show(&a), "proto=apop role=client user=glenda x=2 dom?");
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z!?=]{0,6}", any::<String>(), "[ '\t=?a]{0,8}",]
    }

    fn arb_attr() -> impl Strategy<Value = Attr> {
        // a name never holds '=' (parse splits at the first one)
        let name = arb_string().prop_map(|s| s.replace(['=', '\0'], ""));
        (name, arb_string(), any::<bool>()).prop_map(|(n, v, q)| {
            if q {
                Attr::query(&n)
            } else {
                Attr::val(&n, &v.replace('\0', ""))
            }
        })
    }

    proptest! {
        #[test]
        fn parse_print_parse(s in any::<String>()) {
            let k = parse(&s);
            prop_assert_eq!(parse(&k.to_wire()), k);
        }

        #[test]
        fn print_parse_roundtrip(v in prop::collection::vec(arb_attr(), 0..8)) {
            // a key as parse would produce it: no query for a name with a value
            let k = parse(&Attrs(v).to_wire());
            let printed = k.to_wire();
            prop_assert_eq!(&parse(&printed), &k);
            prop_assert_eq!(parse(&printed).to_wire(), printed);
        }

        #[test]
        fn structured_roundtrip(v in prop::collection::vec(arb_attr(), 0..8)) {
            // any key as a key can be: no query for a name that has a value
            let vals: Vec<String> = v.iter()
                .filter(|a| a.kind == Kind::Val)
                .map(|a| a.name.clone())
                .collect();
            let k = Attrs(v.into_iter()
                .filter(|a| a.kind == Kind::Val || !vals.contains(&a.name))
                .collect());
            prop_assert_eq!(parse(&k.to_wire()), k);
        }
    }
}
