"""Demo privacy data: the published policy that states the clinic's real practices, and its subprocessors."""

from datetime import date, timedelta

from django.db import transaction

from .models import PolicyTranslation, PolicyVersion, Subprocessor

POLICY_VERSION = "2026-12"

POLICY_BODY = """\
This policy explains how California Aesthetics ("we", "us") collects, uses and shares your personal information when you visit our website, book with us or message us, and the choices and rights you have. It covers both of our locations, in Milpitas and Glendale, California.

## 1. Information we collect
- When you book: your first and last name, email address, mobile phone number, and your confirmation that you are 18 or older.
- Your choices about appointment texts, marketing texts and marketing email, with the exact wording you were shown, the time, your IP address and browser (user agent), as a record of your consent.
- Your appointments (location, service, practitioner, time, status) and notes our front desk adds.
- Text messages you send us and that we send you, and their delivery status.
- When you visit the website: technical information such as your IP address and browser. Analytics and advertising cookies are set only if you accept them.

## 2. How we use it
- To schedule, confirm, reschedule and cancel appointments, and to send the reminders you ask for.
- To answer your messages and send you administrative information, such as changes to this policy.
- To send occasional offers by text or email, only if you opted in to that channel. Every marketing text says how to stop; every marketing email has an unsubscribe link.
- With your consent only: to understand how our website is used (Google Analytics, Google Tag Manager) and to show you our ads on Facebook and Instagram (Meta Pixel).

## 3. Cookies
- Necessary cookies keep the site working and secure (your session, security tokens, and your cookie choices). They are always on.
- Preference, analytics and marketing cookies are off until you choose. The banner offers Accept all, Reject all and Manage, equally. You can change your choice at any time with the "Cookie settings" link at the bottom of every page.
- No analytics or advertising script is loaded before you accept it. If you withdraw, it is removed from the next page and we delete the cookies we can.
- We honor the Global Privacy Control signal: a browser that sends it is opted out of sharing for advertising, whatever the banner says.

## 4. How we share it
- We do not sell your personal information. We share it with service providers who work for us, listed below with what they receive, under contracts that bind them to protect it.
- We disclose information when the law requires it (for example a court order or subpoena), to protect our rights, people's safety or against fraud, or as part of a merger or sale of our business.
- Sharing for targeted advertising (the Meta Pixel) happens only if you accept marketing cookies. Use "Your Privacy Choices" at the bottom of any page, or a Global Privacy Control signal, to opt out of it.

## 5. Text messages (A2P messaging)
- If you opt in, we text you booking confirmations and reminders (about 2 per appointment) and, only with a separate opt-in, occasional offers (up to 4 a month). Message frequency varies. Message and data rates may apply.
- Reply STOP to any message to opt out of all our texts; you will get one confirmation and nothing more. Reply START to resubscribe. Reply HELP for help. Reply C to confirm your next appointment.
- We send no texts between 9 pm and 8 am your clinic's local time.
- Carriers are not liable for delayed or undelivered messages.

## 6. Your privacy rights
- You can ask to access your information and receive a copy in a portable format, to correct it, to delete it, to restrict or object to its processing, and to withdraw consent at any time. You can object to direct marketing at any time, and we will stop at once.
- Use the privacy request form linked at the bottom of every page, or contact a location below. We confirm your identity by email (and, for deletion or specific information, by a code to the phone we have on file) before we act.
- We answer within one month (GDPR and UK GDPR) or 45 days (California), and tell you if we need more time and why. A verified deletion request is completed within 14 days.
- Opting out of sale or sharing needs no verification and takes effect at once.

## 7. Retention
- We keep your information only as long as needed for these purposes or as the law requires. Text message contents are kept for 12 months. Records of privacy requests are kept for at least 24 months. Clients with no appointment for 7 years are anonymized, since California requires patient records to be kept at least that long.
- After deletion we keep only anonymized appointment records needed for accounting, and a one-way fingerprint of your phone and email so that your opt-outs stay honored.

## 8. Security
- Connections to our site are encrypted (HTTPS). Staff see only the locations they work at, and every view, export or deletion of a person's data by staff is recorded.
- No system is perfectly secure, and we cannot guarantee that unauthorized parties will never defeat our safeguards.

## 9. Children
- Our services are only for adults 18 and over. Online booking asks you to confirm you are 18 or older. If we learn we hold a child's information, we delete it.

## 10. Changes to this policy
- When we change this policy we publish the new version here with its effective date, keep earlier versions readable below, and email clients who gave us an email address.
"""

# The demo policy's Spanish text: a faithful rendering of POLICY_BODY, section for section, so a Spanish
# reader of the demo sees the policy in Spanish (and `manage.py check` has no privacy.W001 to report).
# The keywords keep the English ones beside the Spanish, as the Spanish texts and emails do.
POLICY_BODY_ES = """\
Este aviso explica cómo California Aesthetics ("nosotros") recopila, usa y comparte su información personal cuando visita nuestro sitio web, reserva con nosotros o nos envía mensajes, y las opciones y los derechos que usted tiene. Abarca nuestras dos sedes, en Milpitas y Glendale, California.

## 1. Información que recopilamos
- Cuando reserva: su nombre y apellido, correo electrónico, número de teléfono móvil y su confirmación de que tiene 18 años o más.
- Sus opciones sobre mensajes de texto de citas, mensajes de texto de marketing y correo electrónico de marketing, con las palabras exactas que se le mostraron, la hora, su dirección IP y su navegador (agente de usuario), como constancia de su consentimiento.
- Sus citas (sede, servicio, profesional, hora, estado) y las notas que agrega nuestra recepción.
- Los mensajes de texto que usted nos envía y que nosotros le enviamos, y su estado de entrega.
- Cuando visita el sitio web: información técnica como su dirección IP y su navegador. Las cookies de análisis y de publicidad solo se instalan si usted las acepta.

## 2. Cómo la usamos
- Para programar, confirmar, cambiar y cancelar citas, y para enviarle los recordatorios que pida.
- Para responder a sus mensajes y enviarle información administrativa, como los cambios a este aviso.
- Para enviarle ofertas ocasionales por mensaje de texto o correo electrónico, solo si aceptó recibirlas por ese medio. Cada mensaje de texto de marketing indica cómo dejar de recibirlos; cada correo de marketing tiene un enlace para darse de baja.
- Solo con su consentimiento: para entender cómo se usa nuestro sitio web (Google Analytics, Google Tag Manager) y para mostrarle nuestros anuncios en Facebook e Instagram (Meta Pixel).

## 3. Cookies
- Las cookies necesarias mantienen el sitio en funcionamiento y seguro (su sesión, los códigos de seguridad y sus opciones de cookies). Siempre están activas.
- Las cookies de preferencias, de análisis y de marketing están desactivadas hasta que usted elija. El aviso de cookies ofrece Aceptar todas, Rechazar todas y Administrar, en igualdad de condiciones. Puede cambiar su elección en cualquier momento con el enlace "Configuración de cookies" al pie de cada página.
- No se carga ningún script de análisis ni de publicidad antes de que usted lo acepte. Si retira su consentimiento, se quita a partir de la página siguiente y borramos las cookies que podemos.
- Respetamos la señal Global Privacy Control: un navegador que la envía queda excluido del intercambio de datos con fines publicitarios, diga lo que diga el aviso de cookies.

## 4. Cómo la compartimos
- No vendemos su información personal. La compartimos con proveedores de servicios que trabajan para nosotros, indicados abajo con lo que reciben, mediante contratos que los obligan a protegerla.
- Divulgamos información cuando la ley lo exige (por ejemplo, una orden judicial o una citación), para proteger nuestros derechos, la seguridad de las personas o contra el fraude, o como parte de una fusión o venta de nuestro negocio.
- El intercambio de datos para publicidad dirigida (el Meta Pixel) solo ocurre si acepta las cookies de marketing. Use "Sus opciones de privacidad" al pie de cualquier página, o una señal Global Privacy Control, para excluirse.

## 5. Mensajes de texto (mensajería A2P)
- Si lo acepta, le enviamos por mensaje de texto confirmaciones y recordatorios de sus reservas (unos 2 por cita) y, solo con una aceptación aparte, ofertas ocasionales (hasta 4 al mes). La frecuencia de los mensajes varía. Pueden aplicarse tarifas de mensajes y datos.
- Responda ALTO (o STOP) a cualquier mensaje para dejar de recibir todos nuestros mensajes de texto; recibirá una sola confirmación y nada más. Responda INICIAR (o START) para volver a suscribirse. Responda AYUDA (o HELP) para obtener ayuda. Responda C para confirmar su próxima cita.
- No enviamos mensajes de texto entre las 9 p. m. y las 8 a. m., hora local de su sede.
- Los operadores de telefonía no son responsables de los mensajes retrasados o no entregados.

## 6. Sus derechos de privacidad
- Puede pedir acceso a su información y recibir una copia en un formato portátil, corregirla, eliminarla, limitar su tratamiento u oponerse a él, y retirar su consentimiento en cualquier momento. Puede oponerse al marketing directo en cualquier momento, y lo suspenderemos de inmediato.
- Use el formulario de solicitud de privacidad enlazado al pie de cada página, o comuníquese con una de las sedes indicadas abajo. Confirmamos su identidad por correo electrónico (y, para una eliminación o para información específica, con un código enviado al teléfono que tenemos registrado) antes de actuar.
- Respondemos en el plazo de un mes (RGPD y RGPD del Reino Unido) o de 45 días (California), y le avisamos si necesitamos más tiempo y por qué. Una solicitud de eliminación verificada se completa en un plazo de 14 días.
- La exclusión de la venta o del intercambio de datos no requiere verificación y surte efecto de inmediato.

## 7. Conservación
- Conservamos su información solo el tiempo necesario para estos fines o el que exija la ley. El contenido de los mensajes de texto se conserva 12 meses. Los registros de las solicitudes de privacidad se conservan al menos 24 meses. Los clientes sin ninguna cita durante 7 años se anonimizan, ya que California exige conservar los expedientes de los pacientes al menos ese tiempo.
- Después de una eliminación conservamos solo los registros anonimizados de citas necesarios para la contabilidad, y una huella unidireccional de su teléfono y su correo electrónico para que se sigan respetando sus exclusiones.

## 8. Seguridad
- Las conexiones a nuestro sitio están cifradas (HTTPS). El personal solo ve las sedes en las que trabaja, y queda registrada cada consulta, exportación o eliminación de los datos de una persona por parte del personal.
- Ningún sistema es perfectamente seguro, y no podemos garantizar que terceros no autorizados nunca logren burlar nuestras medidas de protección.

## 9. Menores de edad
- Nuestros servicios son solo para adultos de 18 años o más. La reserva en línea le pide confirmar que tiene 18 años o más. Si nos enteramos de que tenemos información de un menor, la eliminamos.

## 10. Cambios a este aviso
- Cuando cambiamos este aviso, publicamos la nueva versión aquí con su fecha de entrada en vigor, mantenemos legibles abajo las versiones anteriores y enviamos un correo electrónico a los clientes que nos dieron una dirección de correo.
"""

SUBPROCESSORS = [
    ("Twilio", "Sending and receiving text messages", "Mobile phone number, message text", "United States", False),
    ("SendGrid (Twilio)", "Sending email", "Name, email address, email content", "United States", False),
    (
        "Google Cloud Platform",
        "Hosting the website and database",
        "All information described in this policy",
        "United States",
        False,
    ),
    # Listed on the policy page only while payments go through Stripe (payments.selectors.payments_are_on).
    (
        "Stripe",
        "Taking card payments, deposits, fees and refunds",
        "The card details you enter on Stripe's own page, amounts, our reference number for you",
        "United States",
        False,
    ),
    (
        "Google Analytics",
        "Website usage statistics",
        "Pseudonymous usage data, IP address, browser",
        "United States",
        True,
    ),
    (
        "Google Tag Manager",
        "Loading the analytics and advertising tags you accept",
        "IP address, browser",
        "United States",
        True,
    ),
    (
        "Meta Platforms (Facebook, Instagram)",
        "Advertising (Meta Pixel)",
        "Pseudonymous browsing data, IP address, browser",
        "United States",
        True,
    ),
]


@transaction.atomic
def seed_privacy_demo_data():
    """Publish the demo policy with its Spanish text (without emailing anyone) and list the subprocessors.

    Idempotent. The Spanish text is only added when missing: a published version's texts are never rewritten.
    """
    policy, _ = PolicyVersion.objects.update_or_create(
        version=POLICY_VERSION,
        defaults={"effective_date": date(2026, 11, 1), "body": POLICY_BODY, "is_published": True},
    )
    PolicyTranslation.objects.get_or_create(policy=policy, language="es", defaults={"body": POLICY_BODY_ES})
    for position, (name, purpose, data, country, consent_only) in enumerate(SUBPROCESSORS):
        Subprocessor.objects.update_or_create(
            name=name,
            defaults={
                "purpose": purpose,
                "data_shared": data,
                "country": country,
                "only_with_consent": consent_only,
                "position": position,
            },
        )
    return policy


DEMO_REQUEST_EMAIL = "emery.demo-fictional@example.com"


def seed_demo_privacy_request(*, now=None):
    """An access request received weeks ago, so its deadline is close (the digest's "due soon")."""
    from django.conf import settings
    from django.utils import timezone

    from .requests_models import DataSubjectRequest, RequestChannel, RequestType
    from .subject_requests import due_date, regime, submit_request

    existing = DataSubjectRequest.objects.filter(email=DEMO_REQUEST_EMAIL).first()
    if existing:
        return existing
    now = now or timezone.now()
    # Received so that it falls due in about half the "due soon" window.
    received = now - (due_date(now, regime()) - now) + timedelta(days=max(settings.PRIVACY_DUE_SOON_DAYS // 2, 1))
    return submit_request(
        request_type=RequestType.ACCESS,
        email=DEMO_REQUEST_EMAIL,
        details="Please send me a copy of everything you hold about me. (Demo request.)",
        channel=RequestChannel.EMAIL,
        now=received,
    )


# seed_demo's steps (registered in PrivacyConfig.ready(); clinic.demo runs them in order).


def demo_policy_step() -> str:
    return f"Privacy policy {seed_privacy_demo_data().version} published."


def demo_request_step() -> str:
    request = seed_demo_privacy_request()
    return f"Demo privacy request {request.reference} due {request.deadline:%Y-%m-%d}."
