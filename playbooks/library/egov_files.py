#!/usr/bin/python
# -*- coding: utf-8 -*-
"""egov_files: converge many small files in ONE module run (content, mode, owner, group, validate).

Why: every module run costs a Python start-up on the host; a role that writes fifteen
files with fifteen `copy` tasks costs fifteen rounds on every host. This writes only the
files whose content or metadata differ (atomically: temp file + rename, after an optional
`validate` command with %s), and returns which ones changed so that later tasks can react
(`when: '/etc/x' in result.changed_paths`).
"""

DOCUMENTATION = r"""
module: egov_files
short_description: Converge a list of files in one module run
options:
  files:
    description: list of {path, content, mode, owner, group, validate} or {path, state=directory, mode, owner, group}
    type: list
    elements: dict
    required: true
"""

import grp
import os
import pwd
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule


def converge(module, f, check):
    path = f["path"]
    mode = int(str(f.get("mode", "0755" if f.get("state") == "directory" else "0644")), 8)
    uid = pwd.getpwnam(f["owner"]).pw_uid if f.get("owner") else 0
    gid = grp.getgrnam(f["group"]).gr_gid if f.get("group") else (pwd.getpwuid(uid).pw_gid if f.get("owner") else 0)
    if f.get("state") == "directory":
        try:
            st = os.stat(path)
            if (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid:
                return False
        except FileNotFoundError:
            pass
        if not check:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
            os.chown(path, uid, gid)
        return True
    data = f.get("content", "").encode("utf-8")
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            same = fh.read() == data
        meta_ok = (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid
    except FileNotFoundError:
        same, meta_ok = False, False
    if same and meta_ok:
        return False
    if check:
        return True
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    if same:
        os.chmod(path, mode)
        os.chown(path, uid, gid)
        return True
    fd, tmp = tempfile.mkstemp(prefix=".egov-", dir=d)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.chown(tmp, uid, gid)
        if f.get("validate"):
            r = subprocess.run(f["validate"].replace("%s", tmp), shell=True, capture_output=True, text=True)
            if r.returncode != 0:
                module.fail_json(msg=f"{path}: validation failed: {(r.stderr or r.stdout).strip()}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def main():
    module = AnsibleModule(argument_spec={"files": {"type": "list", "elements": "dict", "required": True}},
                           supports_check_mode=True)
    changed = [f["path"] for f in module.params["files"] if converge(module, f, module.check_mode)]
    module.exit_json(changed=bool(changed), changed_paths=changed)


if __name__ == "__main__":
    main()
