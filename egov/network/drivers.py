"""The one interface egov uses to talk to a network device, and its netmiko implementation.

A driver does five things (NAPALM's verb set, minus what hier_config does offline):
`open`, `running()`, `apply(commands)`, `save()`, `close()`. Everything above it (plan, push,
backup, rollback) is platform-neutral; platform differences are data in `platforms.py`.
Tests replace `connect` with an in-memory device (tests/unit/netfakes.py).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from egov.core.errors import EgovError
from egov.network.platforms import Platform


class DeviceError(EgovError):
    """A device could not be reached, refused the login, or failed a command."""

    kind = "error"

    def __init__(self, device: str, message: str):
        super().__init__(f"{device}: {message}")
        self.device = device
        self.reason = message


class Unreachable(DeviceError):
    kind = "unreachable"


class AuthFailed(DeviceError):
    kind = "auth"


class CommandRejected(DeviceError):
    kind = "rejected"

    def __init__(self, device: str, command: str, output: str):
        super().__init__(device, f"rejected `{command.strip()}`: {output.strip()[:200]}")
        self.command = command.strip()


@dataclass(frozen=True)
class Conn:
    """How to log in to one device."""

    device: str
    host: str
    platform: Platform
    username: str
    password: str | None = None
    key_file: Path | None = None
    known_hosts: Path | None = None  # None: the operator's ~/.ssh/known_hosts
    port: int = 22
    timeout: float = 10
    # safe commit (platforms.commit_mode): "trial" (VRPv8), "delay" (Comware 7) or "" (none)
    commit: str = ""


class Driver(Protocol):
    def open(self) -> None: ...
    def running(self) -> str: ...
    def apply(self, commands: list[str], trial: int = 0) -> str: ...
    def confirm(self) -> str: ...
    def cancel(self) -> str: ...
    def save(self) -> None: ...
    def cli(self, command: str) -> str: ...
    def close(self) -> None: ...


class NetmikoDriver:
    def __init__(self, conn: Conn, session_log: Path | None = None):
        self.conn = conn
        self.session_log = session_log
        self.nm = None
        # a trial commit (VRPv8) or commit delay (Comware) this session armed and has not confirmed
        self.pending = ""

    def open(self) -> None:
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
        from paramiko.ssh_exception import SSHException

        c = self.conn
        kw = dict(device_type=c.platform.netmiko, host=c.host, port=c.port, username=c.username,
                  conn_timeout=c.timeout, auth_timeout=c.timeout, banner_timeout=c.timeout,
                  ssh_strict=True, allow_agent=False, fast_cli=True, global_delay_factor=c.platform.delay_factor)
        if c.known_hosts is not None:
            kw |= dict(system_host_keys=False, alt_host_keys=True, alt_key_file=str(c.known_hosts))
        else:
            kw |= dict(system_host_keys=True)
        if c.key_file is not None:
            kw |= dict(use_keys=True, key_file=str(c.key_file), password=c.password or "")
        else:
            kw |= dict(use_keys=False, password=c.password or "", secret=c.password or "")
        if self.session_log is not None:
            self.session_log.parent.mkdir(parents=True, exist_ok=True)
            kw |= dict(session_log=str(self.session_log), session_log_file_mode="append")
        try:
            if c.platform.lean_session:
                self.nm = ConnectHandler(**kw, auto_connect=False)
                self._lean_session()
            else:
                self.nm = ConnectHandler(**kw)
            if c.platform.enable and not self.nm.check_enable_mode():
                self.nm.enable()
        except NetmikoAuthenticationException:
            raise AuthFailed(
                c.device, f"login refused at {c.host}:{c.port} (wrong credentials for user {c.username!r})"
            ) from None
        except NetmikoTimeoutException as e:
            first = (str(e).strip().splitlines() or ["no answer"])[0].rstrip(".")
            raise Unreachable(c.device, f"cannot open SSH to {c.host}:{c.port}: {first}") from None
        except (SSHException, OSError, socket.error, EOFError) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            if "not found in known_hosts" in msg or "host key" in msg.lower():
                raise AuthFailed(c.device, f"host key of {c.host} not trusted ({msg})") from None
            raise Unreachable(c.device, f"cannot open SSH to {c.host}:{c.port}: {msg}") from None
        except Exception as e:  # noqa: BLE001 - netmiko: prompt, enable, read timeouts, closed channels
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise DeviceError(c.device, f"session setup failed: {type(e).__name__}: {msg}") from None

    PROMPT = re.compile(r"^\S+[>#]\s*$", re.M)
    CONFIG_END = r"(?m)^return\s*<[^<>\n]+>\s*$"  # VRP/Comware: the config's last line, then the user-view prompt

    def _lean_session(self) -> None:
        """netmiko's session preparation without its fixed sleeps (~0.3 s per login): wait for the
        first prompt, take the base prompt from it, turn paging off. Used where a prompt is
        unambiguous (the lab's FRR vtysh and emulated switches)."""
        nm = self.nm
        nm._modify_connection_params()
        nm.establish_connection()
        try:
            nm.write_channel(nm.RETURN)
            seen = nm.read_until_pattern(pattern=self.PROMPT.pattern, read_timeout=self.conn.timeout, re_flags=re.M)
            prompt = seen.strip().splitlines()[-1].strip()
            nm.base_prompt = prompt[:-1][:16]
            nm.send_command("terminal length 0", expect_string=r"[>#]\s*$", read_timeout=self.conn.timeout)
        except Exception:
            nm.disconnect()
            raise

    def _require(self):
        if self.nm is None:
            raise DeviceError(self.conn.device, "not connected")
        return self.nm

    def running(self) -> str:
        nm = self._require()
        try:
            if self.conn.platform.prompted_apply:
                # VRP/Comware end the configuration with `return`: read up to it and the prompt after
                # it, not to the first prompt seen (a prompt left over from session setup would end
                # the read before the output, and an empty read would plan as "everything differs")
                cmd = self.conn.platform.show_running
                out = nm.send_command(cmd, expect_string=self.CONFIG_END, read_timeout=60, strip_prompt=False,
                                      strip_command=False)
                lines = out.splitlines()
                start = max((i + 1 for i, ln in enumerate(lines) if ln.rstrip().endswith(cmd)), default=0)
                end = max((i + 1 for i, ln in enumerate(lines) if ln.strip() == "return"), default=len(lines))
                return "\n".join(lines[start:end]) + "\n"
            return nm.send_command(self.conn.platform.show_running, read_timeout=60)
        except Exception as e:  # noqa: BLE001 - netmiko raises many kinds; all mean "no config read"
            raise DeviceError(self.conn.device, f"cannot read the running config: {type(e).__name__}: {e}") from None

    def cli(self, command: str) -> str:
        """Output of one operational (show/display) command."""
        nm = self._require()
        try:
            return nm.send_command(command, read_timeout=30)
        except Exception as e:  # noqa: BLE001
            raise DeviceError(self.conn.device, f"`{command}` failed: {type(e).__name__}: {e}") from None

    def apply(self, commands: list[str], trial: int = 0) -> str:
        """Apply `commands`. With `trial` seconds on a safe-commit device the change is armed to
        revert by itself (VRPv8 `commit trial`, Comware `configuration commit delay`) until
        `confirm()`; without, VRPv8 commits it outright. A refused line on VRPv8 aborts the
        candidate: nothing is committed."""
        from netmiko.exceptions import ConfigInvalidException

        nm = self._require()
        p = self.conn.platform
        if p.prompted_apply:
            return self._apply_prompted(commands, trial)
        try:
            if p.batch_apply:
                return self._apply_block(commands)
            return nm.send_config_set(commands, error_pattern=p.error_pattern, read_timeout=30)
        except ConfigInvalidException as e:
            msg = str(e)
            m = re.search(r"at command: (.*?), matched error", msg)
            cmd = m.group(1) if m else "?"
            self._leave_config_mode()
            raise CommandRejected(self.conn.device, cmd, msg.split("matched error:")[-1]) from None
        except Exception as e:  # noqa: BLE001
            self._leave_config_mode()
            raise DeviceError(self.conn.device, f"session broke while applying: {type(e).__name__}: {e}") from None

    EXEC_PROMPT = re.compile(r"^[\w.-]+#\s*$", re.M)
    # a VRP/Comware prompt on a line of its own: <H>, [H], [~H], [*H-GigabitEthernet0/0/1], or a
    # question ([Y/N]:, [Y(yes)/N(no)/C(cancel)]:) - never an echoed command (it has a space after ])
    VRP_PROMPT = r"(?:^[<\[][~*]?[^\s<>\[\]]+[\]>]|\[Y(?:\(yes\))?/N[^\]]*\]:?)\s*$"

    QUESTION = re.compile(r"\[Y(?:\(yes\))?/N[^\]]*\]:?\s*$")

    def _send(self, line: str, timeout: float = 30) -> str:
        """Type one line and read until the device's prompt is back; netmiko's echo check and its
        fixed per-line waits are not used (a wrapped echo cannot break the read)."""
        nm = self.nm
        nm.write_channel(nm.normalize_cmd(line))
        return nm.read_until_pattern(pattern=self.VRP_PROMPT, read_timeout=timeout, re_flags=re.M)

    def _error_line(self, out: str) -> str | None:
        m = re.search(self.conn.platform.error_pattern, out)
        return out[m.start():].splitlines()[0].strip() if m else None

    def _apply_prompted(self, commands: list[str], trial: int) -> str:
        c = self.conn
        mode = c.commit
        try:
            out = self._send("system-view")
            if mode == "delay" and trial:
                arm = f"configuration commit delay {max(1, -(-trial // 60))}"
                o = self._send(arm)
                out += o
                if self._error_line(o):
                    self._send("return")
                    raise DeviceError(c.device, f"`{arm}` refused: {self._error_line(o)}")
                self.pending = "delay"
            for cmd in commands:
                o = self._send(cmd)
                out += o
                bad = self._error_line(o)
                if not bad and re.search(self.QUESTION, o):  # a line that wants a Y/N answer is not
                    bad = f"the device asked: {o.strip().splitlines()[-1]}"  # something egov's plans type:
                    out += self._send("n")  # say no, and refuse the line
                if bad:
                    if mode == "trial":
                        self._send("abort")  # the candidate is dropped: nothing of this change is committed
                    self._send("return")
                    raise CommandRejected(c.device, cmd, bad)
            if mode == "trial":
                step = f"commit trial {max(60, trial)}" if trial else "commit"
                o = self._send(step, timeout=120)
                out += o
                if self._error_line(o):
                    self._send("abort")
                    self._send("return")
                    raise DeviceError(c.device, f"`{step}` refused: {self._error_line(o)}")
                self.pending = "trial" if trial else ""
            out += self._send("return")
            return out
        except DeviceError:
            raise
        except Exception as e:  # noqa: BLE001 - netmiko read timeouts, closed channels
            raise DeviceError(c.device, f"session broke while applying: {type(e).__name__}: {e}") from None

    def _in_system_view(self, step: str) -> str:
        try:
            self._send("system-view")
            o = self._send(step, timeout=120)
            self._send("return")
        except Exception as e:  # noqa: BLE001
            raise DeviceError(self.conn.device, f"`{step}` failed: {type(e).__name__}: {e}") from None
        if self._error_line(o):
            raise DeviceError(self.conn.device, f"`{step}` refused: {self._error_line(o)}")
        return o

    def confirm(self) -> str:
        """Make an armed trial permanent (`commit` / `configuration commit`); nothing if none."""
        self._require()
        if not self.pending:
            return ""
        step = "commit" if self.pending == "trial" else "configuration commit"
        self._in_system_view(step)
        self.pending = ""
        return step

    def cancel(self) -> str:
        """Take an armed trial back now (VRPv8 `abort trial`); Comware's delay has no abort, the
        caller restores the backup and confirms that instead. Returns the step taken, or ""."""
        self._require()
        if self.pending != "trial":
            return ""
        self._in_system_view("abort trial")
        self.pending = ""
        return "abort trial"

    def _apply_block(self, commands: list[str]) -> str:
        """Type the whole change at once, then `end`, and read until the exec prompt returns;
        the first rejected line is found in the echoed transcript."""
        from netmiko.exceptions import ConfigInvalidException

        nm = self.nm
        out = nm.config_mode()
        nm.write_channel("".join(nm.normalize_cmd(c) for c in [*commands, "end"]))
        out += nm.read_until_pattern(pattern=self.EXEC_PROMPT.pattern, read_timeout=60, re_flags=re.M)
        bad = first_rejected(out, self.conn.platform.error_pattern)
        if bad:
            cmd, line = bad
            raise ConfigInvalidException(f"Invalid input detected at command: {cmd}, matched error: {line}")
        return out

    def _leave_config_mode(self) -> None:
        try:
            if self.nm is not None and self.nm.check_config_mode():
                self.nm.exit_config_mode()
        except Exception:  # noqa: BLE001 - best effort; the restore reconnects if needed
            pass

    def save(self) -> None:
        nm = self._require()
        try:
            if self.conn.platform.prompted_apply:
                nm.set_base_prompt()  # the change may have renamed the device (sysname): its prompt with it
            out = nm.save_config()
        except Exception as e:  # noqa: BLE001
            raise DeviceError(self.conn.device, f"save failed: {type(e).__name__}: {e}") from None
        if re.search(self.conn.platform.error_pattern, out or ""):
            raise DeviceError(self.conn.device, f"save failed: {out.strip()[-200:]}")

    def close(self) -> None:
        if self.nm is not None:
            try:
                if self.conn.platform.prompted_apply:
                    # the session is in user view (apply returns there): log out without netmiko's
                    # config-mode check (~2 s on Huawei)
                    nm = self.nm
                    nm.cleanup = lambda command="quit": nm.write_channel("quit" + nm.RETURN)
                self.nm.disconnect()
            except Exception:  # noqa: BLE001
                pass
            self.nm = None


def first_rejected(transcript: str, error_pattern: str) -> tuple[str, str] | None:
    """(command, error line) of the first line a device refused, from a pasted change's echo:
    the command is the last one echoed after a prompt (`name(config-if)# <command>`)."""
    m = re.search(error_pattern, transcript, flags=re.M)
    if not m:
        return None
    before = transcript[:m.start()].rstrip().splitlines()
    echoed = [ln.split("#", 1)[1] for ln in before if "#" in ln and ln.split("#", 1)[1].strip()]
    return (echoed[-1].strip() if echoed else "?"), transcript[m.start():].splitlines()[0].strip()


def connect(conn: Conn, session_log: Path | None = None) -> Driver:
    d = NetmikoDriver(conn, session_log)
    d.open()
    return d
