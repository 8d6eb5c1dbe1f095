"""Who is staff, and what they may see: a logged-in user with a verified second factor (TOTP)
and a staff profile; department-scoped unless their role is supervisor."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login


def staff_required(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_verified() and hasattr(user, "staff")):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def may_see(user, department: str | None) -> bool:
    staff = user.staff
    return staff.sees_all() or (department is not None and department == staff.department)


def scope(queryset, user, field: str = "department"):
    return queryset if user.staff.sees_all() else queryset.filter(**{field: user.staff.department})
