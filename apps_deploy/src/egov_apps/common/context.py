from django.conf import settings

NAMES = {"service-hall": "网上办事大厅", "one-stop-approval": "一站式审批系统",
         "hotline-12345": "12345政务服务便民热线", "e-supervision": "电子监察系统", "": "政务服务"}


def site(request):
    staff = getattr(getattr(request, "user", None), "staff", None) if getattr(request, "user", None) and \
        request.user.is_authenticated else None
    return {"system_name": NAMES.get(settings.APP_ID, "政务服务"), "staff_profile": staff}
