"""Where each app declares the personal data it holds.

Each app registers, in its AppConfig.ready(), an exporter and an eraser for the
client records it owns, so that privacy requests reach every table without this
app importing the others' models, and names the models that hold client data
(`models=`). A model that points at a client and is covered by no registration
fails `manage.py check` (`check_client_data_registered`): it would be missed by
exports and erasure.

- exporter(client_ids) -> {category: [row dict, ...]}
- eraser(client_ids) -> number of rows anonymised (None until the app has one)
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.core import checks  # check messages


@dataclass(frozen=True)
class PersonalDataSource:
    app_label: str
    exporter: Callable
    eraser: Callable | None
    # Erasers run in ascending order: apps that need the contact details to
    # find their rows (messaging matches by phone) go before the client
    # record itself is wiped.
    erase_order: int = 50
    # "app_label.ModelName" of every model whose rows this exporter and eraser cover.
    models: tuple = ()


_sources: dict[str, PersonalDataSource] = {}
_sms_sender = None
# What an erasure keeps by law, per app: app_label -> held(client_ids) -> a sentence for the person, or "".
_legal_holds: dict[str, Callable] = {}
# Subprocessors used only by a feature that can be off (Stripe, when payments are off): name -> is it on now?
_subprocessor_gates: dict[str, Callable[[], bool]] = {}


def register(app_label, *, exporter, eraser=None, erase_order=50, models=()):
    labels = tuple(m if isinstance(m, str) else m._meta.label for m in models)
    _sources[app_label] = PersonalDataSource(app_label, exporter, eraser, erase_order, labels)


# Files an app adds to a client's export bundle: app_label -> files(client_ids) -> [(path in the ZIP, bytes)].
_export_files: dict[str, Callable] = {}


def register_export_files(app_label, files):
    """files(client_ids) -> [(path, bytes)]: documents the person gets as files (signed forms as PDFs)."""
    _export_files[app_label] = files


def export_files(client_ids) -> list[tuple[str, bytes]]:
    return [item for files in _export_files.values() for item in files(client_ids)]


def register_legal_hold(app_label, held):
    """held(client_ids) -> "" or a sentence naming what an erasure keeps by law and until when."""
    _legal_holds[app_label] = held


def legal_holds(client_ids) -> list[str]:
    """The sentences of every app that keeps some of these clients' data through an erasure, by law."""
    return [sentence for held in _legal_holds.values() if (sentence := held(client_ids))]


def unregister(app_label):
    """Remove an app's registration (tests)."""
    return _sources.pop(app_label, None)


def sources():
    return sorted(_sources.values(), key=lambda s: (s.erase_order, s.app_label))


def covered_models() -> set[str]:
    return {label.lower() for source in _sources.values() for label in source.models}


def points_at_client(model) -> bool:
    """Whether a model has a ForeignKey, OneToOneField or ManyToManyField to clinic.Client."""
    for f in model._meta.get_fields(include_parents=False):
        if f.is_relation and f.concrete and f.related_model is not None and not isinstance(f.related_model, str):
            if f.related_model._meta.label_lower == "clinic.client":
                return True
    return False


def uncovered_client_models(models) -> list:
    """The models among `models` that point at a client but no app registered."""
    covered = covered_models()
    return [
        m
        for m in models
        if not m._meta.proxy
        and m._meta.concrete_model is m
        and points_at_client(m)
        and m._meta.label_lower not in covered
    ]


def check_client_data_registered(app_configs=None, **kwargs):
    models = [m for config in app_configs for m in config.get_models()] if app_configs else global_apps.get_models()
    return [
        checks.Error(
            f"{m._meta.label} points at a client but is not registered with the privacy registry.",
            hint="Add it to models= in its app's registry.register(...) call (AppConfig.ready()), "
            "with an exporter and an eraser that cover its rows.",
            obj=m,
            id="privacy.E001",
        )
        for m in uncovered_client_models(models)
    ]


def register_subprocessor_gate(name, is_on):
    """The subprocessor called `name` is listed on the policy page only while is_on() is true."""
    _subprocessor_gates[name] = is_on


def subprocessors_switched_off() -> set[str]:
    return {name for name, is_on in _subprocessor_gates.items() if not is_on()}


def register_sms_sender(func):
    """messaging provides how to text a verification code; privacy does not import it."""
    global _sms_sender
    _sms_sender = func


def send_verification_sms(*, phone, body, client=None):
    if _sms_sender is None:
        raise RuntimeError("No SMS sender registered (is the messaging app installed?)")
    return _sms_sender(phone=phone, body=body, client=client)


def erase_subject(client_ids):
    """Run every app's eraser; returns {app_label: rows changed}."""
    return {s.app_label: s.eraser(client_ids) for s in sources() if s.eraser is not None}


def export_subject(client_ids):
    """Every category of personal data held about these clients, per app."""
    bundle = {}
    for source in sources():
        bundle.update(source.exporter(client_ids))
    return bundle
