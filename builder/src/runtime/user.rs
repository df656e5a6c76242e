//! `USER` values (`name`, `uid`, `name:group`, `uid:gid`) resolved against the step's
//! root file system, with the rules of runc's `user.GetExecUser` that Docker and
//! BuildKit use: a name must be in `/etc/passwd` (a group in `/etc/group`), a number
//! need not be; the primary group comes from the passwd entry unless one is given;
//! supplementary groups are the groups listing the user by name.

use std::fs;
use std::path::{Path, PathBuf};

/// The user a step runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) additional_gids: Vec<u32>,
    /// The home directory (`/` when the user has no passwd entry).
    pub(crate) home: String,
}

impl ResolvedUser {
    /// root, with no lookup.
    #[cfg(test)]
    pub(crate) fn root() -> Self {
        Self {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".to_owned(),
        }
    }
}

/// A `USER` value that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// A user name with no passwd entry.
    #[error("unable to find user {name}: no matching entries in {}", file.display())]
    UnknownUser {
        /// The name.
        name: String,
        /// The file looked in (inside the root file system).
        file: PathBuf,
    },
    /// A group name with no group entry.
    #[error("unable to find group {name}: no matching entries in {}", file.display())]
    UnknownGroup {
        /// The name.
        name: String,
        /// The file looked in.
        file: PathBuf,
    },
    /// An empty user name or more than one `:`.
    #[error("invalid user {value:?}: expected user[:group] (names or numeric ids)")]
    Invalid {
        /// The value.
        value: String,
    },
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Reads `etc/<file>` of the root file system, if it is a regular file (a symlink could
/// point at the host's own file: treated as absent).
fn read_etc(rootfs: &Path, file: &str) -> Option<String> {
    let etc = rootfs.join("etc");
    if !fs::symlink_metadata(&etc).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let path = etc.join(file);
    if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    fs::read_to_string(path).ok()
}

fn passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: (*f.first()?).to_owned(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f
                    .get(5)
                    .map_or("/", |h| if h.is_empty() { "/" } else { h })
                    .to_owned(),
            })
        })
        .collect()
}

fn groups(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: (*f.first()?).to_owned(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `value` (`None` or empty: root) against `rootfs`.
pub(crate) fn resolve(value: Option<&str>, rootfs: &Path) -> Result<ResolvedUser, UserError> {
    let value = value.unwrap_or("").trim();
    let (user, group) = match value.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (value, None),
    };
    if group.is_some_and(|g| g.contains(':') || g.is_empty())
        || (user.is_empty() && group.is_some())
    {
        return Err(UserError::Invalid {
            value: value.to_owned(),
        });
    }
    let passwd_entries = read_etc(rootfs, "passwd")
        .map(|t| passwd(&t))
        .unwrap_or_default();
    let group_entries = read_etc(rootfs, "group")
        .map(|t| groups(&t))
        .unwrap_or_default();

    let (uid, mut gid, name, home) = if user.is_empty() {
        let root = passwd_entries.iter().find(|e| e.uid == 0);
        (
            0,
            root.map_or(0, |e| e.gid),
            root.map(|e| e.name.clone()),
            root.map_or("/root".to_owned(), |e| e.home.clone()),
        )
    } else if let Ok(uid) = user.parse::<u32>() {
        let entry = passwd_entries.iter().find(|e| e.uid == uid);
        (
            uid,
            entry.map_or(0, |e| e.gid),
            entry.map(|e| e.name.clone()),
            entry.map_or("/".to_owned(), |e| e.home.clone()),
        )
    } else {
        let entry = passwd_entries
            .iter()
            .find(|e| e.name == user)
            .ok_or_else(|| UserError::UnknownUser {
                name: user.to_owned(),
                file: PathBuf::from("/etc/passwd"),
            })?;
        (
            entry.uid,
            entry.gid,
            Some(entry.name.clone()),
            entry.home.clone(),
        )
    };
    if let Some(group) = group {
        gid = match group.parse::<u32>() {
            Ok(g) => g,
            Err(_) => {
                group_entries
                    .iter()
                    .find(|e| e.name == group)
                    .ok_or_else(|| UserError::UnknownGroup {
                        name: group.to_owned(),
                        file: PathBuf::from("/etc/group"),
                    })?
                    .gid
            }
        };
    }
    // With an explicit group, Docker still adds the user's supplementary groups.
    let mut additional_gids: Vec<u32> = match &name {
        Some(name) => group_entries
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .filter(|g| *g != gid)
            .collect(),
        None => Vec::new(),
    };
    additional_gids.sort_unstable();
    additional_gids.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("etc")).expect("etc");
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000::/home/builder:/bin/sh\n\
             # comment\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .expect("passwd");
        fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nbuilder:x:1000:\nstaff:x:50:builder,other\naudio:x:29:builder\n",
        )
        .expect("group");
        dir
    }

    #[test]
    fn names_and_numbers_resolve_as_runc_does() {
        let dir = rootfs();
        let r = |v: &str| resolve(Some(v), dir.path());
        let builder = r("builder").expect("builder");
        assert_eq!((builder.uid, builder.gid), (1000, 1000));
        assert_eq!(builder.additional_gids, [29, 50]);
        assert_eq!(builder.home, "/home/builder");
        let numeric = r("1000").expect("numeric");
        assert_eq!(numeric, builder);
        let unknown_numeric = r("4242").expect("numbers need no entry");
        assert_eq!((unknown_numeric.uid, unknown_numeric.gid), (4242, 0));
        assert_eq!(unknown_numeric.home, "/");
        let with_group = r("builder:staff").expect("group by name");
        assert_eq!((with_group.uid, with_group.gid), (1000, 50));
        assert_eq!(with_group.additional_gids, [29]);
        assert_eq!(r("nobody:7").expect("gid").gid, 7);
        assert_eq!(
            resolve(None, dir.path()).expect("root"),
            ResolvedUser::root()
        );
    }

    #[test]
    fn unknown_names_and_bad_values_are_errors() {
        let dir = rootfs();
        assert_eq!(
            resolve(Some("ghost"), dir.path())
                .expect_err("unknown")
                .to_string(),
            "unable to find user ghost: no matching entries in /etc/passwd"
        );
        assert!(matches!(
            resolve(Some("builder:ghosts"), dir.path()),
            Err(UserError::UnknownGroup { .. })
        ));
        for bad in [":1", "a:b:c", "builder:"] {
            assert!(
                matches!(
                    resolve(Some(bad), dir.path()),
                    Err(UserError::Invalid { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_symlinked_passwd_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("etc")).expect("etc");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("etc/passwd")).expect("link");
        assert!(matches!(
            resolve(Some("root"), dir.path()),
            Err(UserError::UnknownUser { .. })
        ));
    }
}
