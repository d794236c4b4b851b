from django import template

from payments.models import format_money

register = template.Library()


@register.filter
def money(payment):
    return format_money(payment.amount, payment.currency)


@register.filter
def refunded_money(payment):
    return format_money(payment.amount_refunded, payment.currency)
