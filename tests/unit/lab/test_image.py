"""The hosts' image cache: content-addressed keys and the checks that name a corrupt image."""

from __future__ import annotations

import json

import pytest

from egov.lab import image


def _sound(tmp_path, r=None):
    r = r or image.recipe()
    img = image.Image(image.key_of(r), image.images_dir(tmp_path) / image.key_of(r))
    for f in image.ESSENTIAL:
        (img.rootfs / f).parent.mkdir(parents=True, exist_ok=True)
        (img.rootfs / f).write_text("x")
    img.manifest.write_text(json.dumps({"key": img.key}))
    return img


def test_the_key_follows_the_content_not_the_order():
    a = image.recipe(packages=("python3", "systemd"))
    b = image.recipe(packages=("systemd", "python3", "systemd"))
    assert image.key_of(a) == image.key_of(b)
    assert image.key_of(a) != image.key_of(image.recipe(packages=("systemd",)))
    assert image.key_of(image.recipe()) != image.key_of(image.recipe("http://10.21.2.22/debian"))


def test_the_image_points_apt_at_the_mirror_when_one_is_given():
    assert image.recipe("http://10.21.2.22/debian")["sources.list"] == "deb http://10.21.2.22/debian bookworm main\n"
    assert "deb.debian.org" in image.recipe()["sources.list"]


def test_a_cloud_images_packages_and_no_more():
    assert {"systemd", "systemd-sysv", "openssh-server", "python3", "ca-certificates", "iproute2"} <= set(
        image.PACKAGES)
    assert not {"postgresql-15", "haproxy", "chrony"} & set(image.PACKAGES)


def test_a_sound_image_is_used(tmp_path):
    assert image.problem(_sound(tmp_path)) is None


@pytest.mark.parametrize("damage, says", [
    (lambda img: img.manifest.unlink(), "manifest is missing"),
    (lambda img: img.manifest.write_text("{not json"), "manifest is unreadable"),
    (lambda img: img.manifest.write_text(json.dumps({"key": "0" * 16})), "manifest names key"),
    (lambda img: (img.rootfs / "usr/sbin/sshd").unlink(), "/usr/sbin/sshd missing"),
])
def test_a_corrupt_image_is_named(tmp_path, damage, says):
    img = _sound(tmp_path)
    damage(img)
    assert says in image.problem(img)


def test_a_missing_image_is_not_built(tmp_path):
    r = image.recipe()
    assert image.problem(image.Image(image.key_of(r), tmp_path / "nope")) == "not built"
