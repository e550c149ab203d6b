//! Remote file primitives shared by the file modules: [`probe`] reads a path's state (stat,
//! checksum, optionally its content) in one command, [`write`] puts content in place
//! atomically with its attributes (and a backup) in one more, and [`Attrs`] decides which
//! of mode/owner/group differ. Needs `stat -c` (GNU coreutils or busybox) on the target.

use super::Ctx;
use super::outcome::{Fail, fail};
use crate::shell::quote;
use serde_json::{Value, json};

/// Ansible's `DIFF_MAX_SIZE` (bytes): larger files get no text diff.
pub const DIFF_MAX: u64 = 104_448;

/// The fields `stat -c` prints, precise times first (GNU), whole seconds as a fallback.
const STAT_FMT: &str = "S %f %u %g %s %.9X %.9Y %.9Z %i %d %h %b %B %U %G";
const STAT_FMT_OLD: &str = "S %f %u %g %s %X %Y %Z %i %d %h %b %B %U %G";

/// One path's `stat`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    /// `st_mode`: type and permission bits.
    pub raw_mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    pub blocks: u64,
    pub block_size: u64,
    pub owner: String,
    pub group: String,
}

/// The type of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Link,
    Block,
    Char,
    Fifo,
    Socket,
}

impl Stat {
    pub fn kind(&self) -> Kind {
        match self.raw_mode & 0o170000 {
            0o040000 => Kind::Dir,
            0o120000 => Kind::Link,
            0o060000 => Kind::Block,
            0o020000 => Kind::Char,
            0o010000 => Kind::Fifo,
            0o140000 => Kind::Socket,
            _ => Kind::File,
        }
    }

    /// Permission bits (with setuid, setgid, sticky).
    pub fn perm(&self) -> u32 {
        self.raw_mode & 0o7777
    }

    /// The mode as Ansible shows it: `'0644'`.
    pub fn mode_str(&self) -> String {
        format!("{:04o}", self.perm())
    }

    /// Ansible's `state` of an existing path.
    pub fn state(&self) -> &'static str {
        match self.kind() {
            Kind::Dir => "directory",
            Kind::Link => "link",
            Kind::File => "file",
            _ => "file",
        }
    }

    /// The attribute keys of results: mode, owner, group, uid, gid, size, state.
    pub fn result_keys(&self, r: &mut crate::vars::Vars) {
        r.insert("mode".into(), json!(self.mode_str()));
        r.insert("owner".into(), json!(self.owner));
        r.insert("group".into(), json!(self.group));
        r.insert("uid".into(), json!(self.uid));
        r.insert("gid".into(), json!(self.gid));
        r.insert("size".into(), json!(self.size));
        r.insert("state".into(), json!(self.state()));
    }

    /// Parses the `S` line of a probe.
    pub fn parse_line(line: &str) -> Option<Stat> {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 15 || f[0] != "S" {
            return None;
        }
        let n = |i: usize| f[i].parse::<u64>().ok();
        let t = |i: usize| f[i].parse::<f64>().ok();
        Some(Stat {
            raw_mode: u32::from_str_radix(f[1], 16).ok()?,
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            size: n(4)?,
            atime: t(5)?,
            mtime: t(6)?,
            ctime: t(7)?,
            inode: n(8)?,
            dev: n(9)?,
            nlink: n(10)?,
            blocks: n(11)?,
            block_size: n(12)?,
            owner: f[13].to_string(),
            group: f[14..].join(" "),
        })
    }
}

/// Which content a probe brings back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    No,
    /// The whole file if it is at most this many bytes.
    UpTo(u64),
    /// The whole file.
    All,
    /// The whole file unless its checksum is this one (fetch: nothing to move when equal).
    UnlessChecksum(String),
}

/// What to ask about a path.
#[derive(Debug, Clone)]
pub struct ProbeOpts {
    /// Follow a symlink (`stat -L`).
    pub follow: bool,
    /// The checksum command for regular files (`sha1sum`), if any.
    pub checksum: Option<&'static str>,
    pub content: Content,
    /// When the path is a directory, probe this name inside it instead (copy into a dir).
    pub into_dir: Option<String>,
}

impl Default for ProbeOpts {
    fn default() -> Self {
        ProbeOpts {
            follow: false,
            checksum: Some("sha1sum"),
            content: Content::No,
            into_dir: None,
        }
    }
}

/// A path's state on the host.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The path probed (changed by `into_dir`).
    pub path: String,
    pub stat: Option<Stat>,
    pub link_target: Option<String>,
    pub checksum: Option<String>,
    /// The content, when asked for and within the limit.
    pub content: Option<Vec<u8>>,
    /// `test -r`, `-w`, `-x` for the connecting (or become) user.
    pub readable: bool,
    pub writeable: bool,
    pub executable: bool,
    /// The parent directory exists (reported for a missing path).
    pub parent_exists: bool,
    pub umask: u32,
}

impl Probe {
    pub fn exists(&self) -> bool {
        self.stat.is_some()
    }

    pub fn kind(&self) -> Option<Kind> {
        self.stat.as_ref().map(Stat::kind)
    }
}

/// Shell lines that print the `S` line of `$p` (`stat -L` when `follow`).
pub fn stat_lines(follow: bool) -> String {
    let l = if follow { "-L " } else { "" };
    format!(
        "stat {l}-c '{STAT_FMT}' -- \"$p\" 2>/dev/null || stat {l}-c '{STAT_FMT_OLD}' -- \"$p\" || echo 'E cannot stat the path (stat -c from GNU coreutils or busybox is needed)'\n"
    )
}

/// `tv TAG VALUE`: prints `TAG VALUE`, or `TAGx HEX` when the value holds a newline (a
/// symlink target or a path can), so that a value never makes lines of its own. Plain
/// values cost no fork.
const TAG_VALUE: &str = "nl='\n'\ntv() { case $2 in *\"$nl\"*) printf '%sx ' \"$1\"; printf %s \"$2\" | od -An -tx1 -v | tr -d ' \\n'; echo ;; *) printf '%s %s\\n' \"$1\" \"$2\" ;; esac; }\n";

/// A value printed by `tv`: as it is, or hex-decoded (tag `Lx`, `Fx`).
fn tag_value(val: &str, hex: bool) -> Result<String, String> {
    if !hex {
        return Ok(val.to_string());
    }
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(val.trim().as_bytes())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|_| format!("cannot read the hex value {val:?}"))
}

/// The script of a probe of `path`.
pub fn probe_script(path: &str, o: &ProbeOpts) -> String {
    // Builtins where they do (every fork and exec is about 1.5 ms of the host's CPU).
    let mut s = format!("p={}\nprintf 'U '; umask\n{TAG_VALUE}", quote(path));
    if let Some(name) = &o.into_dir {
        s.push_str(&format!(
            "[ -d \"$p\" ] && p=\"${{p%/}}/\"{}\ntv F \"$p\"\n",
            quote(name)
        ));
    }
    s.push_str("if [ -e \"$p\" ] || [ -h \"$p\" ]; then\n");
    s.push_str(&stat_lines(o.follow));
    s.push_str("[ -h \"$p\" ] && tv L \"$(readlink -- \"$p\")\"\n");
    s.push_str("printf 'P '; [ -r \"$p\" ] && printf r; [ -w \"$p\" ] && printf w; [ -x \"$p\" ] && printf x; echo\n");
    let regular = if o.follow {
        "[ -f \"$p\" ]"
    } else {
        "[ -f \"$p\" ] && ! [ -h \"$p\" ]"
    };
    s.push_str(&format!("if {regular}; then\n:\n"));
    if let Some(cmd) = o.checksum {
        let sum = if matches!(o.content, Content::UnlessChecksum(_)) {
            format!("h=$({cmd} < \"$p\") && echo \"H ${{h%% *}}\"")
        } else {
            // `H <sum>  -` (the first word counts); `H ` alone when it cannot be read.
            format!("printf 'H '; {cmd} < \"$p\" || echo")
        };
        s.push_str(&format!(
            "if command -v {cmd} >/dev/null; then {sum}; else echo 'E {cmd} is not installed on the host (coreutils is needed)'; fi\n"
        ));
    }
    match &o.content {
        Content::No => {}
        Content::UpTo(n) => s.push_str(&format!("echo C; head -c {} -- \"$p\"\n", n + 1)),
        Content::All => s.push_str("echo C; cat -- \"$p\"\n"),
        Content::UnlessChecksum(sum) => s.push_str(&format!(
            "[ \"${{h%% *}}\" = {} ] || {{ echo C; cat -- \"$p\"; }}\n",
            quote(sum)
        )),
    }
    // The parent directory as dirname gives it, by expansion (trailing slashes first).
    s.push_str(concat!(
        "fi\nelse\necho A\n",
        "q=${p%\"${p##*[!/]}\"}; case $q in */*) q=${q%/*}; q=${q:-/} ;; '') q=/ ;; *) q=. ;; esac\n",
        "! [ -d \"$q\" ] || echo D\nfi\n"
    ));
    s
}

/// Parses a probe's output: exactly one `S` (there) or `A` (absent) line, and the `U` line.
pub fn parse_probe(path: &str, out: &[u8], limit: Option<u64>) -> Result<Probe, String> {
    let mut p = Probe {
        path: path.to_string(),
        ..Probe::default()
    };
    let mut rest = out;
    let (mut umask, mut stats, mut absent) = (None, 0, 0);
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = rest.get(end + 1..).unwrap_or(&[]);
        let (tag, val) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match tag {
            "U" => {
                umask = Some(
                    u32::from_str_radix(val.trim(), 8)
                        .map_err(|_| format!("cannot read the umask line {line:?}"))?,
                )
            }
            "F" | "Fx" => p.path = tag_value(val, tag == "Fx")?,
            "S" => {
                stats += 1;
                p.stat = Some(
                    Stat::parse_line(&line)
                        .ok_or_else(|| format!("cannot read stat output {line:?}"))?,
                )
            }
            "A" => absent += 1,
            "L" | "Lx" => p.link_target = Some(tag_value(val, tag == "Lx")?),
            "P" => {
                p.readable = val.contains('r');
                p.writeable = val.contains('w');
                p.executable = val.contains('x');
            }
            "H" => p.checksum = val.split_whitespace().next().map(str::to_string),
            "D" => p.parent_exists = true,
            "E" => return Err(val.to_string()),
            "C" => {
                let too_big = limit.is_some_and(|n| rest.len() as u64 > n);
                if !too_big {
                    p.content = Some(rest.to_vec());
                }
                break;
            }
            _ => {}
        }
    }
    // A path is either there (one stat) or not: anything else is output cut short or mixed.
    if (stats, absent) != (1, 0) && (stats, absent) != (0, 1) {
        return Err(format!(
            "cannot read the state of {path}: the probe printed {stats} stat line(s) and {absent} absent mark(s)"
        ));
    }
    p.umask = umask.ok_or_else(|| {
        format!("cannot read the umask of the shell on the host (no U line for {path})")
    })?;
    Ok(p)
}

fn stderr_msg(out: &crate::ssh::ExecOutput) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// Reads a path's state in one command.
pub async fn probe(ctx: &Ctx<'_>, path: &str, o: &ProbeOpts) -> Result<Probe, Fail> {
    let out = ctx.sh(&probe_script(path, o), None).await?;
    let limit = match o.content {
        Content::UpTo(n) => Some(n),
        _ => None,
    };
    match parse_probe(path, &out.stdout, limit) {
        Ok(p) if out.status.rc() == 0 => Ok(p),
        Ok(_) => fail(format!("cannot read {path}: {}", stderr_msg(&out))),
        Err(e) => {
            let detail = stderr_msg(&out);
            if detail.is_empty() {
                fail(e)
            } else {
                fail(format!("{e}: {detail}"))
            }
        }
    }
}

/// What [`write`] does.
#[derive(Debug, Default)]
pub struct Write<'a> {
    pub dest: &'a str,
    /// New content (from stdin), or `None` to change attributes only.
    pub content: Option<Source>,
    /// The mode to set (octal), if any.
    pub mode: Option<u32>,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    /// The replaced file's uid and gid, kept on the new file where allowed.
    pub keep_ids: Option<(u32, u32)>,
    /// Keep the replaced file as `dest.<pid>.<time>~`.
    pub backup: bool,
    /// Create missing parent directories, each with these attributes.
    pub make_parents: Option<NewDirs<'a>>,
    /// A command that must accept the new file (`%s` is its path) before it is moved.
    pub validate: Option<&'a str>,
    /// The host's umask, when known (from a probe): spares a `chmod` to the default mode.
    pub umask: Option<u32>,
}

/// A random suffix for temporary files (10 letters and digits).
fn temp_suffix() -> String {
    use rand::RngExt;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// The attributes each directory that a write (or `file`) creates gets, as Ansible gives
/// every new level (`None`: as `mkdir` makes it).
#[derive(Debug, Default, Clone)]
pub struct NewDirs<'a> {
    pub mode: Option<u32>,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
}

/// A shell line that makes the directory in `$var` and each missing parent, every new
/// level with the attributes of `dirs`.
pub fn mkdir_chain(var: &str, dirs: &NewDirs<'_>) -> String {
    let mut each = String::new();
    if let Some(o) = dirs.owner {
        each.push_str(&format!(" && chown -- {} \"$x\"", quote(o)));
    }
    if let Some(g) = dirs.group {
        each.push_str(&format!(" && chgrp -- {} \"$x\"", quote(g)));
    }
    if let Some(m) = dirs.mode {
        each.push_str(&format!(" && chmod {m:04o} \"$x\""));
    }
    format!(
        "set --; q=\"${var}\"; while ! [ -e \"$q\" ] && ! [ -h \"$q\" ]; do set -- \"$q\" \"$@\"; q=$(dirname -- \"$q\"); done; for x in \"$@\"; do mkdir -- \"$x\"{each} || exit 1; done"
    )
}

/// Where new content comes from.
#[derive(Debug)]
pub enum Source {
    Bytes(Vec<u8>),
    /// A file on the host (`remote_src`).
    Remote(String),
}

/// What [`write`] left on the host.
#[derive(Debug)]
pub struct Written {
    pub stat: Stat,
    pub backup_file: Option<String>,
}

/// The script of a [`Write`].
pub fn write_script(w: &Write<'_>) -> String {
    let mut s = format!("set -e\nd={}\n", quote(w.dest));
    let target = if w.content.is_some() {
        "\"$tmp\""
    } else {
        "\"$d\""
    };
    if let Some(src) = &w.content {
        // dirname and mktemp without their execs: the directory by expansion, the temporary
        // file made by the shell under noclobber (so never an existing file), with a random
        // name; it gets the mode a new file gets (0666 less the umask), as Ansible's do.
        s.push_str("case $d in */*) dir=${d%/*}; dir=${dir:-/} ;; *) dir=. ;; esac\n");
        if let Some(dirs) = &w.make_parents {
            s.push_str(&mkdir_chain("dir", dirs));
            s.push('\n');
        }
        s.push_str(&format!(
            "tmp=\"$dir/.horde.{}\"\nset -C; : > \"$tmp\"; set +C\ntrap 'rm -f -- \"$tmp\"' EXIT\n",
            temp_suffix()
        ));
        match src {
            Source::Bytes(_) => s.push_str("cat > \"$tmp\"\n"),
            Source::Remote(path) => s.push_str(&format!("cat -- {} > \"$tmp\"\n", quote(path))),
        }
        if let Some((uid, gid)) = w.keep_ids {
            s.push_str(&format!("chown {uid}:{gid} \"$tmp\" 2>/dev/null || :\n"));
        }
    }
    if let Some(owner) = w.owner {
        s.push_str(&format!("chown -- {} {target}\n", quote(owner)));
    }
    if let Some(group) = w.group {
        s.push_str(&format!("chgrp -- {} {target}\n", quote(group)));
    }
    // After chown, which may clear setuid bits. A new temporary file already has the
    // mode a new file gets: no chmod when that is the one wanted.
    let fresh =
        w.content.is_some() && w.keep_ids.is_none() && w.owner.is_none() && w.group.is_none();
    if let Some(mode) = w.mode
        && !(fresh && w.umask.is_some_and(|u| mode == 0o666 & !u))
    {
        s.push_str(&format!("chmod {mode:04o} {target}\n"));
    }
    if w.content.is_some() {
        if let Some(v) = w.validate {
            let cmd = v.replace("%s", "\"$tmp\"");
            s.push_str(&format!("{cmd} >&2 || {{ echo V; exit 1; }}\n"));
        }
        if w.backup {
            s.push_str("if [ -e \"$d\" ]; then b=\"$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; cp -p -- \"$d\" \"$b\"; echo \"B $b\"; fi\n");
        }
        s.push_str("mv -f -- \"$tmp\" \"$d\"\ntrap - EXIT\n");
    }
    s.push_str("p=$d\n");
    s.push_str(&stat_lines(false));
    s
}

/// Writes content and/or sets attributes, atomically (temp file in the destination's
/// directory, then `mv`), in one command.
pub async fn write(ctx: &Ctx<'_>, w: Write<'_>) -> Result<Written, Fail> {
    let stdin = match &w.content {
        Some(Source::Bytes(b)) => Some(b.clone()),
        _ => None,
    };
    let out = ctx.sh(&write_script(&w), stdin).await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let backup_file = text
        .lines()
        .find_map(|l| l.strip_prefix("B "))
        .map(str::to_string);
    let stat = text.lines().find_map(Stat::parse_line);
    match stat {
        Some(stat) if out.status.rc() == 0 => Ok(Written { stat, backup_file }),
        _ => {
            let err = stderr_msg(&out);
            let msg = if text.lines().any(|l| l == "V") {
                format!("failed to validate: {err}")
            } else if w.owner.is_some() && err.contains("chown") {
                format!("chown failed: {err}")
            } else if w.group.is_some() && err.contains("chgrp") {
                format!("chgrp failed: {err}")
            } else {
                format!("cannot write {}: {err}", w.dest)
            };
            fail(msg)
        }
    }
}

/// The wanted mode, owner and group of a path, and which of them differ from its state.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    /// `chmod`'s argument (`Args::mode`), octal or symbolic.
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// What has to change to reach [`Attrs`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttrChange {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl AttrChange {
    pub fn any(&self) -> bool {
        self.mode.is_some() || self.owner.is_some() || self.group.is_some()
    }
}

impl Attrs {
    pub fn from_args(args: &super::Args) -> Result<Attrs, super::ArgError> {
        Ok(Attrs {
            mode: args.mode("mode")?,
            owner: args.str("owner")?,
            group: args.str("group")?,
        })
    }

    /// What differs from `current` (`None`: the path is new, made with `umask`'s default).
    pub fn change(
        &self,
        current: Option<&Stat>,
        is_dir: bool,
        umask: u32,
    ) -> Result<AttrChange, String> {
        let base = match current {
            Some(st) => st.perm(),
            None => (if is_dir { 0o777 } else { 0o666 }) & !umask,
        };
        let want = match &self.mode {
            Some(m) => resolve_mode(m, base, is_dir)?,
            None => base,
        };
        let differs = |want: &Option<String>, name: Option<&str>, id: Option<u32>| match want {
            Some(w) if w.chars().all(|c| c.is_ascii_digit()) => {
                (id.map(|i| i.to_string()).as_deref() != Some(w.as_str())).then(|| w.clone())
            }
            Some(w) => (name != Some(w.as_str())).then(|| w.clone()),
            None => None,
        };
        Ok(AttrChange {
            mode: (current.is_none() || want != base).then_some(want),
            owner: differs(
                &self.owner,
                current.map(|s| s.owner.as_str()),
                current.map(|s| s.uid),
            ),
            group: differs(
                &self.group,
                current.map(|s| s.group.as_str()),
                current.map(|s| s.gid),
            ),
        })
    }
}

/// The numeric mode `chmod spec` gives a file whose mode is `current`: an octal spec as
/// it is, a symbolic one (`u+rwx,g-w,o=`, `a+X`, `g=u`) applied as Ansible applies it.
pub fn resolve_mode(spec: &str, current: u32, is_dir: bool) -> Result<u32, String> {
    if !spec.is_empty() && spec.chars().all(|c| c.is_digit(8)) {
        return u32::from_str_radix(spec, 8).map_err(|e| format!("bad mode {spec:?}: {e}"));
    }
    let bad = || format!("bad symbolic permission for mode: {spec}");
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        let ops_at = clause.find(['+', '-', '=']).ok_or_else(bad)?;
        let (who, mut ops) = clause.split_at(ops_at);
        if !who.chars().all(|c| "ugoa".contains(c)) {
            return Err(bad());
        }
        let who: Vec<char> = if who.is_empty() || who.contains('a') {
            vec!['u', 'g', 'o']
        } else {
            who.chars().collect()
        };
        while let Some(op) = ops.chars().next().filter(|c| "+-=".contains(*c)) {
            let rest = &ops[1..];
            let end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let perms = &rest[..end];
            ops = &rest[end..];
            let before = mode;
            for &w in &who {
                let shift = match w {
                    'u' => 6,
                    'g' => 3,
                    _ => 0,
                };
                let mut bits = 0u32;
                for c in perms.chars() {
                    bits |= match (c, w) {
                        ('r', _) => 4 << shift,
                        ('w', _) => 2 << shift,
                        ('x', _) => 1 << shift,
                        ('X', _) if is_dir || before & 0o111 != 0 => 1 << shift,
                        ('X', _) => 0,
                        ('s', 'u') => 0o4000,
                        ('s', 'g') => 0o2000,
                        ('s', _) => 0,
                        ('t', 'o') => 0o1000,
                        ('t', _) => 0,
                        ('u' | 'g' | 'o', _) => {
                            let from = match c {
                                'u' => 6,
                                'g' => 3,
                                _ => 0,
                            };
                            ((before >> from) & 7) << shift
                        }
                        _ => return Err(bad()),
                    };
                }
                let class = (7 << shift)
                    | match w {
                        'u' => 0o4000,
                        'g' => 0o2000,
                        _ => 0o1000,
                    };
                mode = match op {
                    '+' => mode | bits,
                    '-' => mode & !bits,
                    _ => (mode & !class) | bits,
                };
            }
        }
        if !ops.is_empty() {
            return Err(bad());
        }
    }
    Ok(mode)
}

/// Ansible's text diff of a file's content (`before`/`after` with headers), or the
/// markers it uses for binary or large files.
pub fn content_diff(before: Option<&[u8]>, after: &[u8], header: &str) -> Value {
    let mut d = serde_json::Map::new();
    d.insert("before_header".into(), json!(header));
    d.insert("after_header".into(), json!(header));
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .ok()
            .filter(|_| !b.contains(&0))
            .map(str::to_string)
    };
    if after.len() as u64 > DIFF_MAX {
        d.insert("src_larger".into(), json!(DIFF_MAX));
        return Value::Object(d);
    }
    match (before.map(text), text(after)) {
        (Some(None), _) => {
            d.insert("dst_binary".into(), json!(1));
        }
        (_, None) => {
            d.insert("src_binary".into(), json!(1));
        }
        (b, Some(a)) => {
            d.insert("before".into(), json!(b.flatten().unwrap_or_default()));
            d.insert("after".into(), json!(a));
        }
    }
    Value::Object(d)
}

/// The hex SHA-1 of bytes (Ansible's `checksum`).
pub fn sha1_hex(data: &[u8]) -> String {
    remembered(data, 0, |d| {
        use sha1::Digest;
        data_encoding::HEXLOWER.encode(&sha1::Sha1::digest(d))
    })
}

/// The hex MD5 of bytes (Ansible's `md5sum`).
pub fn md5_hex(data: &[u8]) -> String {
    remembered(data, 1, |d| {
        use md5::Digest;
        data_encoding::HEXLOWER.encode(&md5::Md5::digest(d))
    })
}

/// A checksum of a large content, computed once: the same file copied to every host of a
/// run is hashed once, not once per host (hashing was a fifth of horde's CPU copying 1 MB
/// to 50 hosts). A hit is the same bytes, compared in full; the last few contents are kept.
fn remembered(data: &[u8], which: usize, hash: impl Fn(&[u8]) -> String) -> String {
    const LARGE: usize = 64 * 1024;
    const KEPT: usize = 8;
    type Entry = (Vec<u8>, [Option<String>; 2]);
    static CACHE: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());
    if data.len() < LARGE {
        return hash(data);
    }
    let lock = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(sum) = lock()
        .iter()
        .find(|(bytes, _)| bytes.as_slice() == data)
        .and_then(|(_, sums)| sums[which].clone())
    {
        return sum;
    }
    let sum = hash(data);
    let mut cache = lock();
    match cache.iter_mut().find(|(bytes, _)| bytes.as_slice() == data) {
        Some((_, sums)) => sums[which] = Some(sum.clone()),
        None => {
            if cache.len() >= KEPT {
                cache.remove(0);
            }
            let mut sums = [None, None];
            sums[which] = Some(sum.clone());
            cache.push((data.to_vec(), sums));
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_checksums_are_remembered_and_right() {
        let a = vec![7u8; 100_000];
        let mut b = a.clone();
        b[99_999] = 8;
        let (sa, sb) = (sha1_hex(&a), sha1_hex(&b));
        assert_ne!(sa, sb, "contents differing in the last byte");
        assert_eq!(sha1_hex(&a), sa);
        assert_eq!(md5_hex(&b), md5_hex(&b.clone()));
        use sha1::Digest;
        assert_eq!(sb, data_encoding::HEXLOWER.encode(&sha1::Sha1::digest(&b)));
    }

    #[test]
    fn symbolic_modes_apply_like_chmod() {
        assert_eq!(resolve_mode("0640", 0o777, false).unwrap(), 0o640);
        assert_eq!(resolve_mode("u+x,g-r", 0o644, false).unwrap(), 0o704);
        assert_eq!(resolve_mode("a=r", 0o755, false).unwrap(), 0o444);
        assert_eq!(resolve_mode("o=", 0o757, false).unwrap(), 0o750);
        assert_eq!(resolve_mode("a+X", 0o644, true).unwrap(), 0o755);
        assert_eq!(resolve_mode("a+X", 0o644, false).unwrap(), 0o644);
        assert_eq!(resolve_mode("g=u", 0o740, false).unwrap(), 0o770);
        assert_eq!(resolve_mode("u+s,+t", 0o755, false).unwrap(), 0o5755);
        assert!(resolve_mode("z+r", 0o644, false).is_err());
    }

    #[test]
    fn stat_lines_parse() {
        let out =
            b"U 0022\nS 81a4 0 0 6 1.5 2.5 3.5 10 20 1 8 4096 root root\nP rw\nH abc\nC\nline\n";
        let p = parse_probe("/x", out, None).unwrap();
        let st = p.stat.unwrap();
        assert_eq!(
            (st.kind(), st.mode_str(), st.size),
            (Kind::File, "0644".into(), 6)
        );
        assert_eq!(p.checksum.as_deref(), Some("abc"));
        assert_eq!(p.content.as_deref(), Some(&b"line\n"[..]));
        assert!(p.readable && p.writeable && !p.executable);
        assert_eq!(p.umask, 0o022);
    }

    #[test]
    fn a_probe_without_one_stat_or_absent_line_or_umask_is_an_error() {
        let st = "S 81a4 0 0 6 1.5 2.5 3.5 10 20 1 8 4096 root root\n";
        let ok = |out: &str| parse_probe("/x", out.as_bytes(), None);
        assert!(ok(&format!("U 0022\n{st}")).unwrap().exists());
        assert!(!ok("U 0022\nA\nD\n").unwrap().exists());
        // stat printed nothing (with status 0): not "absent".
        let e = ok("U 0022\nP rw\n").unwrap_err();
        assert!(e.contains("0 stat line(s) and 0 absent"), "{e}");
        assert!(ok(&format!("U 0022\n{st}A\n")).is_err());
        assert!(ok(&format!("U 0022\n{st}{st}")).is_err());
        // No umask, or one that is not octal: not guessed as 022.
        assert!(ok(st).unwrap_err().contains("umask"));
        assert!(ok(&format!("U u=rwx\n{st}")).unwrap_err().contains("umask"));
    }

    /// The probe script run by `sh` on a symlink whose target holds newlines and tags.
    #[test]
    fn link_targets_with_newlines_stay_one_value() {
        let dir = tempfile::tempdir().unwrap();
        for target in ["x\nC", "x\nE boom\nA", "plain target", "a\n\nP rwx\n"] {
            let link = dir.path().join("l");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).unwrap();
            let path = link.to_str().unwrap();
            let script = probe_script(path, &ProbeOpts::default());
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", &script])
                .output()
                .unwrap();
            let p = parse_probe(path, &out.stdout, None).unwrap();
            // `$(readlink)` drops trailing newlines, as it did before.
            assert_eq!(
                p.link_target.as_deref(),
                Some(target.trim_end_matches('\n'))
            );
            assert_eq!(p.kind(), Some(Kind::Link));
            assert!(p.content.is_none());
        }
        // A destination directory's name with a newline, probed inside (`into_dir`).
        let sub = dir.path().join("d\nS 0");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.to_str().unwrap();
        let opts = ProbeOpts {
            into_dir: Some("f".into()),
            ..ProbeOpts::default()
        };
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &probe_script(path, &opts)])
            .output()
            .unwrap();
        let p = parse_probe(path, &out.stdout, None).unwrap();
        assert_eq!(p.path, format!("{path}/f"));
        assert!(!p.exists() && p.parent_exists);
    }
}
