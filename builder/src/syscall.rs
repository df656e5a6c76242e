//! The privileged system calls of snapshots and RUN steps (mount, unmount), behind a
//! trait so the code that decides *what* to mount is tested without root: the real
//! implementation calls the kernel, the recording one (tests only) keeps the arguments.

use std::io;
use std::path::Path;

pub(crate) use rustix::mount::MountFlags;

/// Mounting and unmounting.
pub(crate) trait Syscall: Send + Sync + std::fmt::Debug {
    /// `mount(source, target, fstype, flags, data)`.
    fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()>;

    /// `umount2(target, 0)`, or with `MNT_DETACH` when `detach` (the mount goes away
    /// once nothing uses it any more).
    fn umount(&self, target: &Path, detach: bool) -> io::Result<()>;
}

/// The kernel, through rustix.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LinuxSyscall;

impl Syscall for LinuxSyscall {
    fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        let data = data
            .map(std::ffi::CString::new)
            .transpose()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount options"))?;
        rustix::mount::mount(source, target, fstype, flags, data.as_deref())
            .map_err(io::Error::from)
    }

    fn umount(&self, target: &Path, detach: bool) -> io::Result<()> {
        let flags = if detach {
            rustix::mount::UnmountFlags::DETACH
        } else {
            rustix::mount::UnmountFlags::empty()
        };
        rustix::mount::unmount(target, flags).map_err(io::Error::from)
    }
}

#[cfg(test)]
pub(crate) mod recording {
    //! A [`Syscall`] that records its calls and succeeds (or fails on request).

    use super::*;
    use std::path::PathBuf;
    use std::sync::Mutex;

    /// One recorded call.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Call {
        Mount {
            source: String,
            target: PathBuf,
            fstype: String,
            flags: MountFlags,
            data: Option<String>,
        },
        Umount {
            target: PathBuf,
            detach: bool,
        },
    }

    #[derive(Debug, Default)]
    pub(crate) struct RecordingSyscall {
        pub(crate) calls: Mutex<Vec<Call>>,
        /// Every mount fails with this errno when set.
        pub(crate) fail_mounts: Option<i32>,
        /// Every non-detaching umount fails with this errno when set.
        pub(crate) fail_umounts: Option<i32>,
    }

    impl RecordingSyscall {
        pub(crate) fn calls(&self) -> Vec<Call> {
            self.calls.lock().expect("not poisoned").clone()
        }
    }

    impl Syscall for RecordingSyscall {
        fn mount(
            &self,
            source: &str,
            target: &Path,
            fstype: &str,
            flags: MountFlags,
            data: Option<&str>,
        ) -> io::Result<()> {
            self.calls.lock().expect("not poisoned").push(Call::Mount {
                source: source.to_owned(),
                target: target.to_owned(),
                fstype: fstype.to_owned(),
                flags,
                data: data.map(str::to_owned),
            });
            match self.fail_mounts {
                Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                None => Ok(()),
            }
        }

        fn umount(&self, target: &Path, detach: bool) -> io::Result<()> {
            self.calls.lock().expect("not poisoned").push(Call::Umount {
                target: target.to_owned(),
                detach,
            });
            match self.fail_umounts {
                Some(errno) if !detach => Err(io::Error::from_raw_os_error(errno)),
                _ => Ok(()),
            }
        }
    }
}
