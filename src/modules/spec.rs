//! What arguments each module takes, so a task with an unknown argument (or a misspelt
//! module) is an error before anything runs, with the near miss suggested.

/// The type of an argument, checked after templating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Str,
    Bool,
    Int,
    Float,
    List,
    Dict,
    Mode,
    /// Anything (a message, a value to set).
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub aliases: &'static [&'static str],
}

#[derive(Debug)]
pub struct ModuleSpec {
    /// The short name (`copy`); `ansible.builtin.copy` and `ansible.legacy.copy` map to it.
    pub name: &'static str,
    /// Takes a free-form string (`command: ls -l`), stored as `_raw_params`.
    pub free_form: bool,
    /// Accepts any argument name (`set_fact`).
    pub any_args: bool,
    pub params: &'static [Param],
}

impl ModuleSpec {
    /// The canonical name of an argument (resolving aliases), or `None` if unknown.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params
            .iter()
            .find(|p| p.name == name || p.aliases.contains(&name))
    }
}

const fn p(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        aliases: &[],
    }
}

const fn pa(name: &'static str, kind: ParamKind, aliases: &'static [&'static str]) -> Param {
    Param {
        name,
        kind,
        aliases,
    }
}

use ParamKind::*;

const COMMAND_PARAMS: &[Param] = &[
    p("_raw_params", Str),
    p("cmd", Str),
    p("argv", List),
    p("chdir", Str),
    p("creates", Str),
    p("removes", Str),
    p("stdin", Str),
    p("stdin_add_newline", Bool),
    p("strip_empty_ends", Bool),
    p("executable", Str),
    p("expand_argument_vars", Bool),
];

const FILE_ATTRS: [Param; 4] = [
    p("mode", Mode),
    p("owner", Str),
    p("group", Str),
    p("unsafe_writes", Bool),
];

macro_rules! with_attrs {
    ($($x:expr),* $(,)?) => {
        &[$($x,)* FILE_ATTRS[0], FILE_ATTRS[1], FILE_ATTRS[2], FILE_ATTRS[3],
          p("seuser", Str), p("serole", Str), p("setype", Str), p("selevel", Str),
          p("attributes", Str)]
    };
}

static SPECS: &[ModuleSpec] = &[
    ModuleSpec {
        name: "command",
        free_form: true,
        any_args: false,
        params: COMMAND_PARAMS,
    },
    ModuleSpec {
        name: "shell",
        free_form: true,
        any_args: false,
        params: COMMAND_PARAMS,
    },
    ModuleSpec {
        name: "raw",
        free_form: true,
        any_args: false,
        params: &[p("_raw_params", Str), p("executable", Str)],
    },
    ModuleSpec {
        name: "script",
        free_form: true,
        any_args: false,
        params: &[
            p("_raw_params", Str),
            p("cmd", Str),
            p("chdir", Str),
            p("creates", Str),
            p("removes", Str),
            p("executable", Str),
        ],
    },
    ModuleSpec {
        name: "copy",
        free_form: false,
        any_args: false,
        params: with_attrs![
            p("src", Str),
            p("content", Any),
            pa("dest", Str, &["path"]),
            p("backup", Bool),
            p("force", Bool),
            p("remote_src", Bool),
            p("directory_mode", Mode),
            p("validate", Str),
            p("checksum", Str),
            p("decrypt", Bool),
            p("follow", Bool),
            p("local_follow", Bool),
        ],
    },
    ModuleSpec {
        name: "template",
        free_form: false,
        any_args: false,
        params: with_attrs![
            p("src", Str),
            p("dest", Str),
            p("backup", Bool),
            p("force", Bool),
            p("validate", Str),
            p("newline_sequence", Str),
            p("trim_blocks", Bool),
            p("lstrip_blocks", Bool),
            p("block_start_string", Str),
            p("block_end_string", Str),
            p("variable_start_string", Str),
            p("variable_end_string", Str),
            p("comment_start_string", Str),
            p("comment_end_string", Str),
            p("output_encoding", Str),
            p("follow", Bool),
        ],
    },
    ModuleSpec {
        name: "file",
        free_form: false,
        any_args: false,
        params: with_attrs![
            pa("path", Str, &["dest", "name"]),
            p("state", Str),
            p("src", Str),
            p("recurse", Bool),
            p("force", Bool),
            p("follow", Bool),
            p("modification_time", Str),
            p("modification_time_format", Str),
            p("access_time", Str),
            p("access_time_format", Str),
        ],
    },
    ModuleSpec {
        name: "lineinfile",
        free_form: false,
        any_args: false,
        params: with_attrs![
            pa("path", Str, &["dest", "destfile", "name"]),
            pa("regexp", Str, &["regex"]),
            p("search_string", Str),
            p("state", Str),
            pa("line", Str, &["value"]),
            p("backrefs", Bool),
            p("insertafter", Str),
            p("insertbefore", Str),
            p("create", Bool),
            p("backup", Bool),
            p("firstmatch", Bool),
            p("validate", Str),
        ],
    },
    ModuleSpec {
        name: "stat",
        free_form: false,
        any_args: false,
        params: &[
            pa("path", Str, &["dest", "name"]),
            p("follow", Bool),
            p("get_checksum", Bool),
            pa("checksum_algorithm", Str, &["checksum", "checksum_algo"]),
            p("get_mime", Bool),
            p("get_attributes", Bool),
            p("get_md5", Bool),
        ],
    },
    ModuleSpec {
        name: "fetch",
        free_form: false,
        any_args: false,
        params: &[
            p("src", Str),
            p("dest", Str),
            p("flat", Bool),
            p("fail_on_missing", Bool),
            p("validate_checksum", Bool),
        ],
    },
    ModuleSpec {
        name: "wait_for",
        free_form: false,
        any_args: false,
        params: &[
            p("host", Str),
            p("port", Int),
            p("path", Str),
            p("state", Str),
            p("timeout", Int),
            p("delay", Int),
            p("sleep", Int),
            p("connect_timeout", Int),
            pa("search_regex", Str, &["regexp"]),
            p("exclude_hosts", List),
            p("active_connection_states", List),
            p("msg", Str),
        ],
    },
    ModuleSpec {
        name: "get_url",
        free_form: false,
        any_args: false,
        params: with_attrs![
            p("url", Str),
            p("dest", Str),
            p("checksum", Str),
            p("force", Bool),
            p("backup", Bool),
            p("timeout", Int),
            p("headers", Dict),
            p("url_username", Str),
            p("url_password", Str),
            p("force_basic_auth", Bool),
            p("validate_certs", Bool),
            p("tmp_dest", Str),
            p("http_agent", Str),
            p("use_proxy", Bool),
        ],
    },
    ModuleSpec {
        name: "uri",
        free_form: false,
        any_args: false,
        params: with_attrs![
            p("url", Str),
            p("method", Str),
            p("body", Any),
            p("body_format", Str),
            p("headers", Dict),
            p("status_code", Any),
            p("return_content", Bool),
            p("timeout", Int),
            p("dest", Str),
            p("creates", Str),
            p("removes", Str),
            p("url_username", Str),
            p("url_password", Str),
            p("force_basic_auth", Bool),
            p("validate_certs", Bool),
            p("follow_redirects", Str),
            p("src", Str),
            p("http_agent", Str),
            p("use_proxy", Bool),
        ],
    },
    ModuleSpec {
        name: "package",
        free_form: false,
        any_args: false,
        params: &[pa("name", List, &["pkg"]), p("state", Str), p("use", Str)],
    },
    ModuleSpec {
        name: "apt",
        free_form: false,
        any_args: false,
        params: &[
            pa("name", List, &["pkg", "package"]),
            p("state", Str),
            pa("update_cache", Bool, &["update-cache"]),
            p("cache_valid_time", Int),
            p("install_recommends", Bool),
            p("purge", Bool),
            p("autoremove", Bool),
            p("deb", Str),
            p("upgrade", Str),
            p("force", Bool),
            p("default_release", Str),
            p("allow_unauthenticated", Bool),
        ],
    },
    ModuleSpec {
        name: "dnf",
        free_form: false,
        any_args: false,
        params: &[
            pa("name", List, &["pkg"]),
            p("state", Str),
            p("update_cache", Bool),
            p("enablerepo", List),
            p("disablerepo", List),
            p("disable_gpg_check", Bool),
            p("autoremove", Bool),
        ],
    },
    ModuleSpec {
        name: "service",
        free_form: false,
        any_args: false,
        params: &[
            p("name", Str),
            p("state", Str),
            p("enabled", Bool),
            p("pattern", Str),
            p("sleep", Int),
            p("arguments", Str),
            p("runlevel", Str),
            p("use", Str),
        ],
    },
    ModuleSpec {
        name: "systemd",
        free_form: false,
        any_args: false,
        params: &[
            pa("name", Str, &["service", "unit"]),
            p("state", Str),
            p("enabled", Bool),
            p("daemon_reload", Bool),
            p("daemon_reexec", Bool),
            p("masked", Bool),
            p("scope", Str),
            p("no_block", Bool),
            p("force", Bool),
        ],
    },
    ModuleSpec {
        name: "user",
        free_form: false,
        any_args: false,
        params: &[
            p("name", Str),
            p("state", Str),
            p("uid", Int),
            p("group", Str),
            p("groups", List),
            p("append", Bool),
            p("home", Str),
            p("shell", Str),
            p("comment", Str),
            p("create_home", Bool),
            p("system", Bool),
            p("password", Str),
            p("remove", Bool),
            p("force", Bool),
            p("move_home", Bool),
            p("update_password", Str),
            p("expires", Float),
            p("password_lock", Bool),
        ],
    },
    ModuleSpec {
        name: "group",
        free_form: false,
        any_args: false,
        params: &[
            p("name", Str),
            p("state", Str),
            p("gid", Int),
            p("system", Bool),
            p("force", Bool),
            p("local", Bool),
        ],
    },
    ModuleSpec {
        name: "ping",
        free_form: false,
        any_args: false,
        params: &[p("data", Str)],
    },
    // Controller-side actions (run by the engine).
    ModuleSpec {
        name: "debug",
        free_form: false,
        any_args: false,
        params: &[p("msg", Any), p("var", Str), p("verbosity", Int)],
    },
    ModuleSpec {
        name: "assert",
        free_form: false,
        any_args: false,
        params: &[
            pa("that", Any, &[]),
            pa("fail_msg", Any, &["msg"]),
            p("success_msg", Any),
            p("quiet", Bool),
        ],
    },
    ModuleSpec {
        name: "fail",
        free_form: false,
        any_args: false,
        params: &[p("msg", Any)],
    },
    ModuleSpec {
        name: "set_fact",
        free_form: false,
        any_args: true,
        params: &[p("cacheable", Bool)],
    },
    ModuleSpec {
        name: "pause",
        free_form: false,
        any_args: false,
        params: &[
            p("seconds", Float),
            p("minutes", Float),
            p("prompt", Str),
            p("echo", Bool),
        ],
    },
    ModuleSpec {
        name: "meta",
        free_form: true,
        any_args: false,
        params: &[p("_raw_params", Str)],
    },
    ModuleSpec {
        name: "include_tasks",
        free_form: true,
        any_args: false,
        params: &[p("_raw_params", Str), p("file", Str), p("apply", Dict)],
    },
    ModuleSpec {
        name: "import_tasks",
        free_form: true,
        any_args: false,
        params: &[p("_raw_params", Str), p("file", Str)],
    },
    ModuleSpec {
        name: "setup",
        free_form: false,
        any_args: false,
        params: &[
            p("gather_subset", List),
            p("filter", List),
            p("gather_timeout", Int),
            p("fact_path", Str),
        ],
    },
    ModuleSpec {
        name: "gather_facts",
        free_form: false,
        any_args: false,
        params: &[p("parallel", Bool)],
    },
    ModuleSpec {
        name: "include_vars",
        free_form: true,
        any_args: false,
        params: &[p("_raw_params", Str), p("file", Str), p("name", Str)],
    },
];

/// The module a task names: `copy`, `ansible.builtin.copy`, `ansible.legacy.copy`, and the
/// old names (`systemd_service`, `win_`-less aliases) map to the short name.
pub fn canonical_name(name: &str) -> &str {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    match short {
        "systemd_service" => "systemd",
        "local_action" => "local_action",
        other => other,
    }
}

/// The spec of a module by any of its names.
pub fn spec(name: &str) -> Option<&'static ModuleSpec> {
    let short = canonical_name(name);
    SPECS.iter().find(|s| s.name == short)
}

/// Every module name horde knows (for suggestions).
pub fn names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(spec("ansible.builtin.copy").unwrap().name, "copy");
        assert_eq!(spec("file").unwrap().param("dest").unwrap().name, "path");
        assert!(spec("comand").is_none());
    }
}
