from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clinic.admin import LocationScopedAdmin, ReadOnlyAdminMixin
from clinic.admin_scoping import register_scope, scoped

from . import selectors, services
from .models import (
    CancellationPolicy,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentRequirement,
    PaymentStatus,
    Refund,
    format_money,
)

REFUND_PERMISSION = "payments.refund_payment"

register_scope(PaymentRequirement, lambda qs, ids: qs.filter(location__in=ids))
register_scope(CancellationPolicy, lambda qs, ids: qs.filter(location__in=ids))
register_scope(Payment, lambda qs, ids: qs.filter(location__in=ids))
register_scope(Refund, lambda qs, ids: qs.filter(payment__location__in=ids))


@admin.register(PaymentRequirement)
class PaymentRequirementAdmin(LocationScopedAdmin):
    list_display = ["service", "location", "kind", "deposit_shown"]
    list_filter = ["location", "kind"]
    fields = ["location", "service", "kind", "currency", "price_amount", "deposit_amount", "deposit_percent"]

    @admin.display(description="Deposit")
    def deposit_shown(self, obj):
        due = obj.deposit_due()
        return format_money(due, obj.currency) if due else "-"


class CancellationPolicyForm(forms.ModelForm):
    class Meta:
        model = CancellationPolicy
        fields = ["location", "window_hours", "late_cancel_fee", "no_show_fee", "currency"]


@admin.register(CancellationPolicy)
class CancellationPolicyAdmin(LocationScopedAdmin):
    """Adding a policy for a location publishes its next version; a saved version is never edited."""

    form = CancellationPolicyForm
    list_display = ["location", "version", "window_hours", "late_cancel_fee", "no_show_fee", "created_at"]
    list_filter = ["location"]
    readonly_fields = ["version", "wording", "created_by", "created_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["location", "window_hours", "late_cancel_fee", "no_show_fee", "currency"]
        return [
            "location",
            "version",
            "window_hours",
            "late_cancel_fee",
            "no_show_fee",
            "currency",
            "wording",
            "created_by",
            "created_at",
        ]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.save_cancellation_policy(
            location=obj.location,
            window_hours=obj.window_hours,
            late_cancel_fee=obj.late_cancel_fee,
            no_show_fee=obj.no_show_fee,
            currency=obj.currency,
            staff_user=request.user,
        )
        obj.pk, obj.version, obj.wording = saved.pk, saved.version, saved.wording
        obj._state.adding = False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    fields = ["created_at", "amount", "currency", "status", "reason", "requested_by", "stripe_refund_id"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TakingsForm(forms.Form):
    day = forms.DateField(label="Day", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_day(self):
        # The page links the day before and after and reads the day's times in UTC: year 1 and 9999 have none.
        day = self.cleaned_data["day"]
        if day is not None and not date(1900, 1, 1) <= day <= date(2999, 12, 31):
            raise forms.ValidationError("Choose a day from 1900 to 2999.")
        return day


class RefundForm(forms.Form):
    amount = forms.IntegerField(label="Amount to refund (cents)", min_value=1)
    reason = forms.CharField(label="Reason", max_length=300, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["created_at", "location", "kind", "amount_shown", "status", "refunded_shown"]
    list_filter = ["location", "kind", "method", "status"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "location",
        "client",
        "appointment",
        "kind",
        "method",
        "taken_by",
        "amount",
        "currency",
        "amount_refunded",
        "status",
        "status_reason",
        "stripe_payment_intent_id",
        "refund_link",
    ]
    readonly_fields = fields
    inlines = [RefundInline]

    @admin.display(description="Amount")
    def amount_shown(self, obj):
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Refunded")
    def refunded_shown(self, obj):
        return format_money(obj.amount_refunded, obj.currency) if obj.amount_refunded else "-"

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not request.user.has_perm(REFUND_PERMISSION):
            fields.remove("refund_link")  # only managers refund: no button to a 403
        return fields

    @admin.display(description="Refund")
    def refund_link(self, obj):
        if selectors.refundable_amount(payment=obj) <= 0:
            return "Nothing left to refund."
        label = "Refund all or part" if obj.method == PaymentMethod.STRIPE else "Record a refund given at the desk"
        return format_html(
            '<a class="button" href="{}">{}</a>', reverse("admin:payments_payment_refund", args=[obj.pk]), label
        )

    def get_urls(self):
        return [
            path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="payments_payment_refund"),
            path("takings/", self.admin_site.admin_view(self.takings_view), name="payments_payment_takings"),
            path(
                "charge-fee/<int:appointment_pk>/<str:kind>/",
                self.admin_site.admin_view(lambda request, **kw: charge_fee_view(self, request, **kw)),
                name="payments_payment_charge_fee",
            ),
            path(
                "checkout/<int:appointment_pk>/",
                self.admin_site.admin_view(lambda request, **kw: checkout_view(self, request, **kw)),
                name="payments_payment_checkout",
            ),
        ] + super().get_urls()

    def takings_view(self, request):
        """Per-location daily takings, for the staff member's own locations only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        from clinic.models import Location

        form = TakingsForm(request.GET or None)
        day = form.cleaned_data["day"] if form.is_valid() and form.cleaned_data.get("day") else None
        locations = list(scoped(request.user, Location.objects.filter(is_active=True)).order_by("name"))
        if day is None:
            day = timezone.now().astimezone(locations[0].tzinfo if locations else None).date()
        rows = selectors.daily_takings(locations=locations, day=day)
        for row in rows:
            row["charged_shown"] = format_money(row["charged"], row["currency"] or "usd")
            row["refunded_shown"] = format_money(row["refunded"], row["currency"] or "usd")
            row["net_shown"] = format_money(row["net"], row["currency"] or "usd")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Daily takings, {day:%A %-d %B %Y}",
            "rows": rows,
            "form": form,
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/takings.html", context)

    def refund_view(self, request, pk):
        """A manager refunds all or part of a payment of their locations, with a reason."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(self.get_queryset(request), pk=pk)  # another location's payment: 404
        if not request.user.has_perm(REFUND_PERMISSION):
            raise PermissionDenied
        available = selectors.refundable_amount(payment=payment)
        form = RefundForm(request.POST or None, initial={"amount": available})
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.refund_payment(
                    payment_id=payment.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,
                )
            except services.PaymentRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                level = messages.SUCCESS if refund.status == "succeeded" else messages.WARNING
                self.message_user(
                    request,
                    f"Refund of {format_money(refund.amount, refund.currency)}: {refund.get_status_display()}"
                    + (f" ({refund.status_reason})" if refund.status_reason else ""),
                    level,
                )
                return redirect("admin:payments_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {payment}",
            "payment": payment,
            "available": format_money(available, payment.currency),
            "at_desk": payment.method != PaymentMethod.STRIPE,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/refund.html", context)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["created_at", "payment", "amount", "currency", "status", "requested_by"]
    list_filter = ["status", "payment__location"]
    fields = [
        "created_at",
        "payment",
        "amount",
        "currency",
        "status",
        "status_reason",
        "reason",
        "requested_by",
        "stripe_refund_id",
    ]
    readonly_fields = fields


# --- Front desk: charge a no-show or late-cancel fee to the card on file, after a confirmation step ----------

FEE_PERMISSION = "payments.charge_fee_payment"


class FeeForm(forms.Form):
    amount = forms.IntegerField(label="Fee to charge (cents)", min_value=1)
    confirm = forms.BooleanField(label="Yes, charge this fee to the client's saved card now")


def _fee_action(kind, label):
    @admin.action(description=f"Charge the {label} to the card on file…", permissions=["charge_fee"])
    def action(modeladmin, request, queryset):
        if queryset.count() != 1:
            modeladmin.message_user(request, "Choose exactly one appointment to charge a fee for.", messages.WARNING)
            return None
        return redirect("admin:payments_payment_charge_fee", queryset.get().pk, kind)

    action.__name__ = f"charge_{kind}"
    return action


def _has_charge_fee_permission(modeladmin, request):
    return request.user.has_perm(FEE_PERMISSION)


def add_fee_actions_to_appointments_admin() -> None:
    """The actions appear on the appointments list; the charge itself is payments' own view below."""
    from appointments.models import Appointment

    appointment_admin = admin.site._registry.get(Appointment)
    if appointment_admin is None or getattr(appointment_admin, "_fee_actions_added", False):
        return
    cls = type(appointment_admin)
    cls.has_charge_fee_permission = _has_charge_fee_permission
    cls.has_take_balance_permission = _has_take_balance_permission
    appointment_admin.actions = [
        *appointment_admin.actions,
        _fee_action(PaymentKind.NO_SHOW_FEE, "no-show fee"),
        _fee_action(PaymentKind.LATE_CANCEL_FEE, "late-cancel fee"),
        checkout_action,
    ]
    appointment_admin._fee_actions_added = True


def charge_fee_view(model_admin, request, appointment_pk, kind):
    """Charge a fee for an appointment of the staff member's locations: shown first, then confirmed."""
    from appointments.models import Appointment

    if not request.user.has_perm(FEE_PERMISSION) or kind not in (PaymentKind.NO_SHOW_FEE, PaymentKind.LATE_CANCEL_FEE):
        raise PermissionDenied
    appointment = get_object_or_404(
        scoped(request.user, Appointment.objects.select_related("client", "location", "service")), pk=appointment_pk
    )
    policy = services.accepted_policy(appointment_id=appointment.pk)
    cap = 0 if policy is None else (policy.no_show_fee if kind == PaymentKind.NO_SHOW_FEE else policy.late_cancel_fee)
    card = selectors.latest_saved_card(client=appointment.client)
    form = FeeForm(request.POST or None, initial={"amount": cap})
    if request.method == "POST" and form.is_valid():
        try:
            payment = services.charge_appointment_fee(
                appointment_id=appointment.pk, kind=kind, amount=form.cleaned_data["amount"], staff_user=request.user
            )
        except services.PaymentRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            level = messages.SUCCESS if payment.status == PaymentStatus.SUCCEEDED else messages.WARNING
            extra = (
                " The card asks for the client's authentication: we emailed them a link to complete it."
                if payment.status == PaymentStatus.REQUIRES_ACTION
                else (f" ({payment.status_reason})" if payment.status_reason else "")
            )
            model_admin.message_user(request, f"{payment}: {payment.get_status_display()}.{extra}", level)
            return redirect("admin:payments_payment_change", payment.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Charge the {PaymentKind(kind).label.lower()}",
        "appointment": appointment,
        "policy": policy,
        "cap": format_money(cap, policy.currency) if policy else None,
        "card": card,
        "form": form,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/payments/charge_fee.html", context)


# --- Front desk: checkout, the deposit taken into account ---------------------------------------------------

BALANCE_PERMISSION = "payments.take_balance_payment"


class CheckoutForm(forms.Form):
    method = forms.ChoiceField(
        label="How the client pays the balance",
        choices=[
            (PaymentMethod.DESK_CARD_TERMINAL.value, "Card terminal at the desk (record the amount)"),
            (PaymentMethod.DESK_CASH.value, "Cash at the desk (record the amount)"),
            (PaymentMethod.STRIPE.value, "Charge the card on file now"),
        ],
        widget=forms.RadioSelect,
    )
    confirm = forms.BooleanField(label="Yes, the visit is complete: take the balance shown")


def _has_take_balance_permission(modeladmin, request):
    return request.user.has_perm(BALANCE_PERMISSION)


@admin.action(description="Check out: complete and take the balance (after the deposit)…", permissions=["take_balance"])
def checkout_action(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose exactly one appointment to check out.", messages.WARNING)
        return None
    return redirect("admin:payments_payment_checkout", queryset.get().pk)


def checkout_view(model_admin, request, appointment_pk):
    """The visit's price, the deposit kept and what is due (all from the server); confirmed, it completes
    the visit and records (desk) or charges (card on file) exactly what is due."""
    from appointments.models import Appointment

    if not request.user.has_perm(BALANCE_PERMISSION):
        raise PermissionDenied
    appointment = get_object_or_404(
        scoped(request.user, Appointment.objects.select_related("client", "location", "service")), pk=appointment_pk
    )
    balance = selectors.appointment_balance(appointment=appointment)
    card = selectors.latest_saved_card(client=appointment.client)
    form = CheckoutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payment = services.take_balance_at_checkout(
                appointment_id=appointment.pk, method=form.cleaned_data["method"], staff_user=request.user
            )
        except services.PaymentRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            level = messages.SUCCESS if payment.status == PaymentStatus.SUCCEEDED else messages.WARNING
            extra = (
                " The card asks for the client's authentication: we emailed them a link to complete it."
                if payment.status == PaymentStatus.REQUIRES_ACTION
                else (f" ({payment.status_reason})" if payment.status_reason else "")
            )
            model_admin.message_user(
                request, f"{payment} ({payment.get_method_display()}): {payment.get_status_display()}.{extra}", level
            )
            return redirect("admin:payments_payment_change", payment.pk)
    money = {
        name: format_money(getattr(balance, name), balance.currency)
        for name in ("deposit_paid", "taken_at_checkout", "due")
    }
    # A visit of several services: each part still on, with its price (one balance for the visit).
    parts = [
        (part.service, format_money(part.price, balance.currency) if part.price is not None else None)
        for part in balance.parts
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Check out",
        "appointment": appointment,
        "balance": balance,
        "parts": parts if appointment.visit_id else [],
        "price": format_money(balance.price, balance.currency) if balance.price is not None else None,
        "money": money,
        "card": card,
        "form": form,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/payments/checkout.html", context)


add_fee_actions_to_appointments_admin()
