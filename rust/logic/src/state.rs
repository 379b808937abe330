//! The partition state machine and the commands of its `state` file.
//!
//! | event \ state | Empty    | Loaded   | Starting | Running  | Stopped, Failed, ended |
//! |---------------|----------|----------|----------|----------|------------------------|
//! | Load          | Loaded   | Loaded   | EBUSY    | EBUSY    | Loaded                 |
//! | Start         | ENOEXEC  | Starting | EBUSY    | EBUSY    | Starting               |
//! | Started       | EINVAL   | EINVAL   | Running  | EINVAL   | EINVAL                 |
//! | StartFailed   | EINVAL   | EINVAL   | Failed   | EINVAL   | EINVAL                 |
//! | Stop          | EINVAL   | EINVAL   | EBUSY    | Stopped  | Stopped if ended, else EINVAL |
//! | Ended(o)      | EINVAL   | EINVAL   | EINVAL   | o's state| EINVAL                 |
//! | SetResources  | Empty    | Loaded   | EBUSY    | EBUSY    | unchanged              |
//! | Destroy       | (ok)     | (ok)     | EBUSY    | EBUSY    | (ok)                   |
//!
//! The *ended* states say how a running partition's kernel ended by itself,
//! as the host learnt it from the partition's status page (see
//! `load_image.rs`): `Rebooted` (it asked for a reboot), `Halted` (it powered
//! off or halted), `Crashed` (it panicked). The host has stopped its CPUs by
//! then; like `Stopped`, each may be started again or reloaded, and `Stop`
//! turns it into `Stopped` (an acknowledgement: the CPUs are already stopped;
//! the console stays readable either way).
//!
//! `Starting` is a transient state between the `Start` request and its
//! outcome (`Started` when the CPU left the trampoline, `StartFailed` when it
//! did not): the module may then drop its lock while waiting for the CPU,
//! and every other event is refused with [`StateError::StartInProgress`].
//! Start from `Failed` is allowed: it is a retry with the same image.

use core::fmt;

// Linux errno values used here (positive).
const ENOEXEC: i32 = 8;
const EBUSY: i32 = 16;
const EINVAL: i32 = 22;

/// State of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum State {
    /// Created, nothing loaded.
    #[default]
    Empty,
    /// A kernel image is loaded and may be started.
    Loaded,
    /// Start requested; waiting for the CPU to leave the trampoline.
    Starting,
    /// The partition's kernel runs.
    Running,
    /// The partition was stopped; it may be started again or reloaded.
    Stopped,
    /// A start was attempted and the CPU did not leave the trampoline.
    Failed,
    /// The partition's kernel asked for a reboot; the host stopped it.
    Rebooted,
    /// The partition's kernel powered off or halted; the host stopped it.
    Halted,
    /// The partition's kernel panicked; the host stopped it.
    Crashed,
}

/// How a running partition's kernel ended by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A reboot request (ACPI reset register, or reported by the agent).
    Rebooted,
    /// Power off (ACPI S5) or halt.
    Halted,
    /// A kernel panic (reported by the agent).
    Crashed,
}

impl Outcome {
    /// The state a partition ends in.
    pub fn state(self) -> State {
        match self {
            Outcome::Rebooted => State::Rebooted,
            Outcome::Halted => State::Halted,
            Outcome::Crashed => State::Crashed,
        }
    }
}

impl State {
    /// The name shown in the `state` file.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Empty => "empty",
            State::Loaded => "loaded",
            State::Starting => "starting",
            State::Running => "running",
            State::Stopped => "stopped",
            State::Failed => "failed",
            State::Rebooted => "rebooted",
            State::Halted => "halted",
            State::Crashed => "crashed",
        }
    }

    /// Whether the partition currently owns its CPUs and memory (running or
    /// starting): resources and image must not change.
    pub fn is_active(self) -> bool {
        matches!(self, State::Starting | State::Running)
    }

    /// Applies `event` and returns the new state, or why it is refused (the
    /// state is then unchanged).
    pub fn apply(self, event: Event) -> Result<State, StateError> {
        use State::*;
        match (event, self) {
            (Event::Started | Event::StartFailed, Starting) => Ok(if event == Event::Started {
                Running
            } else {
                Failed
            }),
            (Event::Started | Event::StartFailed, _) => Err(StateError::NotStarting),
            (_, Starting) => Err(StateError::StartInProgress),

            (Event::Load, Running) => Err(StateError::Busy),
            (Event::Load, _) => Ok(Loaded),

            (Event::Start, Loaded | Stopped | Failed | Rebooted | Halted | Crashed) => Ok(Starting),
            (Event::Start, Running) => Err(StateError::AlreadyRunning),
            (Event::Start, Empty) => Err(StateError::NotLoaded),

            (Event::Stop, Running | Rebooted | Halted | Crashed) => Ok(Stopped),
            (Event::Stop, _) => Err(StateError::NotRunning),

            (Event::Ended(o), Running) => Ok(o.state()),
            (Event::Ended(_), _) => Err(StateError::NotRunning),

            // New CPUs or memory: the loader re-validates the image at start,
            // so a loaded partition stays loaded.
            (Event::SetResources | Event::Destroy, Running) => Err(StateError::Busy),
            (Event::SetResources | Event::Destroy, _) => Ok(self),
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A complete image was written to `load`.
    Load,
    /// `start` was written to `state`.
    Start,
    /// The started CPU left the trampoline.
    Started,
    /// The started CPU did not leave the trampoline in time.
    StartFailed,
    /// `stop` was written to `state`.
    Stop,
    /// The running kernel ended by itself (seen on its status page).
    Ended(Outcome),
    /// `cpus` or `memory` was written.
    SetResources,
    /// The partition is being removed. On success the state is returned
    /// unchanged; the caller then removes the partition.
    Destroy,
}

/// A command written to the `state` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `start`: boot the loaded kernel.
    Start,
    /// `stop`: stop the running kernel.
    Stop,
}

impl Command {
    /// Parses `start` or `stop`, with one trailing `'\n'` allowed.
    pub fn parse(s: &str) -> Result<Command, StateError> {
        match s.strip_suffix('\n').unwrap_or(s) {
            "start" => Ok(Command::Start),
            "stop" => Ok(Command::Stop),
            _ => Err(StateError::UnknownCommand),
        }
    }

    /// The event this command requests.
    pub fn event(self) -> Event {
        match self {
            Command::Start => Event::Start,
            Command::Stop => Event::Stop,
        }
    }

    /// The command's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Stop => "stop",
        }
    }
}

/// Why an event or command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateError {
    /// Load, resource change or destroy while running (EBUSY).
    Busy,
    /// Anything but the start outcome while a start is in progress (EBUSY).
    StartInProgress,
    /// Start while already running (EBUSY).
    AlreadyRunning,
    /// Start with no image loaded (ENOEXEC: nothing to execute).
    NotLoaded,
    /// Stop while not running (EINVAL).
    NotRunning,
    /// A start outcome reported with no start in progress; a module bug (EINVAL).
    NotStarting,
    /// The `state` file got something other than `start` or `stop` (EINVAL).
    UnknownCommand,
}

impl StateError {
    /// The Linux errno (positive) to return to the writer.
    pub fn errno(self) -> i32 {
        match self {
            StateError::Busy | StateError::StartInProgress | StateError::AlreadyRunning => EBUSY,
            StateError::NotLoaded => ENOEXEC,
            StateError::NotRunning | StateError::NotStarting | StateError::UnknownCommand => EINVAL,
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateError::Busy => "partition is running; stop it first",
            StateError::StartInProgress => {
                "partition is starting; try again when the start has finished"
            }
            StateError::AlreadyRunning => "partition is already running",
            StateError::NotLoaded => "no kernel loaded; write an image to the load file first",
            StateError::NotRunning => "partition is not running",
            StateError::NotStarting => "start outcome reported but no start is in progress",
            StateError::UnknownCommand => "unknown command: write start or stop",
        })
    }
}

impl core::error::Error for StateError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use State::*;

    const ALL_STATES: [State; 9] = [
        Empty, Loaded, Starting, Running, Stopped, Failed, Rebooted, Halted, Crashed,
    ];
    const ALL_EVENTS: [Event; 10] = [
        Event::Ended(Outcome::Rebooted),
        Event::Ended(Outcome::Halted),
        Event::Ended(Outcome::Crashed),
        Event::Load,
        Event::Start,
        Event::Started,
        Event::StartFailed,
        Event::Stop,
        Event::SetResources,
        Event::Destroy,
    ];

    #[test]
    fn commands() {
        assert_eq!(Command::parse("start"), Ok(Command::Start));
        assert_eq!(Command::parse("start\n"), Ok(Command::Start));
        assert_eq!(Command::parse("stop\n"), Ok(Command::Stop));
        for bad in [
            "",
            "\n",
            "Start",
            "start\n\n",
            " stop",
            "stop ",
            "restart",
            "load",
        ] {
            assert_eq!(
                Command::parse(bad),
                Err(StateError::UnknownCommand),
                "{bad:?}"
            );
        }
        assert_eq!(Command::Start.event(), Event::Start);
        assert_eq!(Command::Stop.event(), Event::Stop);
        assert_eq!(Command::parse(Command::Stop.as_str()), Ok(Command::Stop));
    }

    #[test]
    fn happy_path() {
        let s = Empty.apply(Event::Load).unwrap();
        assert_eq!(s, Loaded);
        let s = s.apply(Event::Start).unwrap();
        assert_eq!(s, Starting);
        let s = s.apply(Event::Started).unwrap();
        assert_eq!(s, Running);
        let s = s.apply(Event::Stop).unwrap();
        assert_eq!(s, Stopped);
        assert_eq!(s.apply(Event::Start), Ok(Starting));
        assert_eq!(s.apply(Event::Load), Ok(Loaded));
        assert_eq!(Starting.apply(Event::StartFailed), Ok(Failed));
        assert_eq!(Failed.apply(Event::Start), Ok(Starting));
        assert_eq!(Failed.apply(Event::Load), Ok(Loaded));
        assert_eq!(Loaded.apply(Event::SetResources), Ok(Loaded));
        assert_eq!(Loaded.apply(Event::Load), Ok(Loaded));
    }

    #[test]
    fn refusals() {
        assert_eq!(Running.apply(Event::Load), Err(StateError::Busy));
        assert_eq!(Running.apply(Event::SetResources), Err(StateError::Busy));
        assert_eq!(Running.apply(Event::Destroy), Err(StateError::Busy));
        assert_eq!(Running.apply(Event::Start), Err(StateError::AlreadyRunning));
        assert_eq!(Empty.apply(Event::Start), Err(StateError::NotLoaded));
        for s in [Empty, Loaded, Stopped, Failed] {
            assert_eq!(s.apply(Event::Stop), Err(StateError::NotRunning));
            assert_eq!(s.apply(Event::Started), Err(StateError::NotStarting));
            assert_eq!(s.apply(Event::StartFailed), Err(StateError::NotStarting));
            assert_eq!(s.apply(Event::SetResources), Ok(s));
            assert_eq!(s.apply(Event::Destroy), Ok(s));
        }
        for e in [
            Event::Load,
            Event::Start,
            Event::Stop,
            Event::SetResources,
            Event::Destroy,
        ] {
            assert_eq!(Starting.apply(e), Err(StateError::StartInProgress));
        }
    }

    #[test]
    fn active_states_refuse_changes() {
        for s in ALL_STATES {
            for e in [Event::Load, Event::SetResources, Event::Destroy] {
                assert_eq!(s.apply(e).is_err(), s.is_active(), "{s} {e:?}");
            }
            for e in ALL_EVENTS {
                if let Err(err) = s.apply(e) {
                    assert!(matches!(err.errno(), 8 | 16 | 22));
                    let msg = err.to_string();
                    assert!(!msg.is_empty() && !msg.contains('\n'));
                }
            }
        }
    }

    #[test]
    fn a_kernel_that_ends_by_itself() {
        for (o, end) in [
            (Outcome::Rebooted, Rebooted),
            (Outcome::Halted, Halted),
            (Outcome::Crashed, Crashed),
        ] {
            assert_eq!(Running.apply(Event::Ended(o)), Ok(end));
            for s in ALL_STATES.into_iter().filter(|s| *s != Running) {
                assert!(s.apply(Event::Ended(o)).is_err(), "{s} {o:?}");
            }
            // Ended is like stopped: start again, reload, change, destroy.
            assert_eq!(end.apply(Event::Start), Ok(Starting));
            assert_eq!(end.apply(Event::Load), Ok(Loaded));
            assert_eq!(end.apply(Event::SetResources), Ok(end));
            assert_eq!(end.apply(Event::Destroy), Ok(end));
            assert_eq!(end.apply(Event::Stop), Ok(Stopped));
            assert!(!end.is_active());
        }
    }

    #[test]
    fn errnos_and_names() {
        assert_eq!(StateError::Busy.errno(), 16);
        assert_eq!(StateError::AlreadyRunning.errno(), 16);
        assert_eq!(StateError::StartInProgress.errno(), 16);
        assert_eq!(StateError::NotLoaded.errno(), 8);
        assert_eq!(StateError::NotRunning.errno(), 22);
        assert_eq!(StateError::UnknownCommand.errno(), 22);
        let names: std::vec::Vec<&str> = ALL_STATES.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "empty", "loaded", "starting", "running", "stopped", "failed", "rebooted",
                "halted", "crashed"
            ]
        );
        assert_eq!(State::default(), Empty);
        assert_eq!(Running.to_string(), "running");
    }
}
