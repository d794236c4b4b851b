"""The staff roles, as (group name, {app_label: {model: actions}}).

A data migration creates the groups from this table; tests read it too.
"""

VIEW = ("view",)
EDIT = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

FRONT_DESK = "Front desk"
CLINIC_MANAGER = "Clinic manager"
PRIVACY_OFFICER = "Privacy officer"
PRACTITIONER = "Practitioner"

_front_desk = {
    "clinic": {"client": EDIT, "location": VIEW},
    "appointments": {
        "appointment": EDIT,
        "service": VIEW,
        "servicecategory": VIEW,
        "practitioner": VIEW,
        "workinghours": VIEW,
        "timeoff": VIEW,
        "locationclosure": VIEW,
        "practitionerservice": VIEW,
        "resourcetype": VIEW,
        "resourceunit": EDIT,
        "servicerequirement": EDIT,
        "assignedunit": VIEW,
    },
    "privacy": {"consentrecord": VIEW},
    "messaging": {"smsmessage": VIEW, "smsoptout": VIEW, "reminderrule": VIEW, "inboundmessage": ("view", "reply")},
    "payments": {
        "paymentrequirement": VIEW,
        "cancellationpolicy": VIEW,
        "payment": ("view", "charge_fee", "take_balance"),
        "refund": VIEW,
    },
    # The front desk offers times by hand ("change" on an entry); offers are the waitlist's record.
    "waitlist": {"waitlistentry": ("view", "change"), "waitlistoffer": VIEW, "opening": VIEW},
    # Records a client's word that their health changed (their forms are then signed again); never reads its note.
    "clinical_forms": {"healthchangereport": ("view", "add")},
}

_clinic_manager = {
    "clinic": {"client": EDIT, "location": EDIT, "staffprofile": EDIT},
    "appointments": {
        "appointment": EDIT,
        "service": ALL,
        "servicecategory": ALL,
        "practitioner": ALL,
        "workinghours": ALL,
        "timeoff": ALL,
        "locationclosure": ALL,
        "practitionerservice": ALL,
        "resourcetype": ALL,
        "resourceunit": ALL,
        "servicerequirement": ALL,
        "assignedunit": VIEW,
    },
    "privacy": {"consentrecord": VIEW},
    "messaging": {
        "smsmessage": VIEW,
        "smsoptout": ("view", "lift"),
        "reminderrule": ALL,
        "inboundmessage": ("view", "reply"),
        "campaign": EDIT,
        "campaignemail": VIEW,
        "emailoptout": VIEW,
    },
    "payments": {
        "paymentrequirement": EDIT,
        "cancellationpolicy": ("view", "add"),
        "payment": ("view", "refund", "charge_fee", "take_balance"),
        "refund": VIEW,
    },
    "waitlist": {"waitlistentry": ("view", "change"), "waitlistoffer": VIEW, "opening": VIEW},
    # The manager writes and publishes the forms clients fill in (templates only: no answers).
    "clinical_forms": {
        "formtemplate": EDIT,
        "formversion": ("view", "change", "delete"),
        "formfield": ALL,
        # May let a treatment appointment be checked in without its forms or exam, with a reason.
        "checkinoverride": ("view", "add"),
        "healthchangereport": ("view", "add"),
    },
}

_privacy_officer = {
    "clinic": {"client": ("view", "change"), "location": VIEW},
    "appointments": {"appointment": VIEW},
    "privacy": {
        "consentrecord": VIEW,
        "policyversion": EDIT,
        "subprocessor": ALL,
        "policychangenotice": VIEW,
        "datasubjectrequest": ("view", "add", "change", "export"),
        "privacyauditevent": VIEW,
    },
    # Reads clinical answers (each read is audited), scoped to the officer's locations like every record.
    "clinical_forms": {
        "formsubmission": VIEW,
        "goodfaithexam": VIEW,
        "checkinoverride": VIEW,
        "healthchangereport": VIEW,
    },
    "messaging": {
        "smsmessage": VIEW,
        "smsoptout": ("view", "lift"),
        "campaign": VIEW,
        "campaignemail": VIEW,
        "emailoptout": VIEW,
    },
}

# Treats clients: reads their clinical forms (each read audited) for the visits at their locations.
_practitioner = {
    "clinic": {"client": VIEW, "location": VIEW},
    "appointments": {"appointment": VIEW, "service": VIEW, "practitioner": VIEW},
    "clinical_forms": {
        "formsubmission": VIEW,
        "formtemplate": VIEW,
        "formversion": VIEW,
        # Records the good-faith exam before a treatment, or an override of the check-in gate with a reason.
        "goodfaithexam": ("view", "add"),
        "checkinoverride": ("view", "add"),
        "healthchangereport": ("view", "add"),
    },
}

ROLES = {
    FRONT_DESK: _front_desk,
    CLINIC_MANAGER: _clinic_manager,
    PRIVACY_OFFICER: _privacy_officer,
    PRACTITIONER: _practitioner,
}


def permission_codenames(role):
    """Every (app_label, codename) the role grants."""
    return sorted(
        (app_label, f"{action}_{model}")
        for app_label, models in ROLES[role].items()
        for model, actions in models.items()
        for action in actions
    )


def sync_role_groups(apps):
    """Make each role's group hold exactly its permissions (for data migrations).

    Permissions of models not migrated yet are skipped; the migration that adds
    a model to the table above calls this again, so a fresh database and an old
    one end up the same.
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate; make them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = set(permission_codenames(role))
        perms = [
            p
            for p in Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}).select_related(
                "content_type"
            )
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.set(perms)


def ensure_periodic_task(apps, *, name, task, every_minutes=None, crontab=None):
    """Create a django-celery-beat schedule in a data migration (editable later in the admin)."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if crontab is not None:
        schedule, _ = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(**crontab)
        defaults = {"task": task, "crontab": schedule}
    else:
        schedule, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
            every=every_minutes, period="minutes"
        )
        defaults = {"task": task, "interval": schedule}
    PeriodicTask.objects.get_or_create(name=name, defaults=defaults)
