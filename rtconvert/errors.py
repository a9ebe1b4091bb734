"""Exception hierarchy of rtconvert: every error a user can cause derives from RtconvertError."""


class RtconvertError(Exception):
    """Base class of the errors rtconvert raises for bad input, configuration or devices."""


class ConfigError(RtconvertError, ValueError):
    """A configuration value is out of range or inconsistent with another."""


class AudioFileError(RtconvertError):
    """An audio file is missing, unreadable, empty, too short or contains non-finite samples."""


class BundleError(RtconvertError):
    """A model bundle is missing, corrupt, of another format version or inconsistent."""


class AudioDeviceError(RtconvertError):
    """An audio device cannot be opened, or failed while streaming."""


class OutputError(RtconvertError):
    """A file cannot be written: its folder is missing or read-only, or the disk is full."""


class ControlError(RtconvertError, ValueError):
    """A control message is malformed, unknown or refused, or no converter answers it."""
