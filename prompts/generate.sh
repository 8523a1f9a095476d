#!/usr/bin/env bash
# Generate the stock prompts: prompts/<locale>/<name>.wav, 8 kHz mono G.711
# µ-law WAV (format tag 7; read by src/media/wavlaw.rs). µ-law halves the
# size of 16-bit PCM (all four locales fit in ~4 MB instead of ~8.5 MB) and
# is exactly what a PCMU call sends, so nothing is lost that the phone line
# would not lose anyway. Merchant overrides may be 16-bit PCM at any rate.
#
#   prompts/generate.sh            # all locales (en fr ar ur)
#   prompts/generate.sh fr         # one locale
#   PROMPT_ENGINE=espeak PROMPTS_OUT=/tmp/p prompts/generate.sh en   # espeak-ng English elsewhere
#
# English is rendered by the neural voice (hibari-tts from PyPI, voice inside
# the wheel, `prompts/neural.py`) when it is installed: through G.711 a
# recogniser recovers about three times as many words from it as from
# espeak-ng (docs/decisions.md, "Voices"; tests/voice_intelligibility.rs).
# PROMPT_ENGINE: auto (default: neural for en when installed, else espeak-ng
# with a warning), espeak, neural (fails without hibari). fr/ar/ur always use
# espeak-ng: no offline neural voice speaks them. PROMPTS_OUT: where the
# <locale>/ directories go (default: this directory).
#
# Deterministic for a given espeak-ng and sox version (no dither, no
# randomness); the WAVs are committed so a server needs neither tool.
# Pipeline per prompt (DESIGN.md "Testing with real peers"):
#   espeak-ng -v VOICE --stdout TEXT | sox -t wav - -r 8000 -c 1 -b 16 -e signed-integer - |
#   sox -D - -e u-law -b 8 OUT
# with silence trimmed at both ends, inner pauses capped at 120 ms, and a
# 40 ms tail so that concatenated prompts (numbers, currencies) are
# separated by a short natural gap. -D: no dither, so output is repeatable.
#
# Name scheme (see src/media/say.rs): 0..99 are numbers spoken whole in the
# locale; hundred/thousand/lakh/crore/million/billion scale words (Arabic:
# 100..900 and dual/plural forms); `and`; currency words <iso>, <iso>_one,
# <iso>_minor, <iso>_minor_one (Arabic also _two and _few; French <iso>_of,
# "d'euros" after a round million); feminine numbers f<n> (Arabic, French)
# where they differ; flow prompts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out_root=$(mkdir -p "${PROMPTS_OUT:-$here}" && cd "${PROMPTS_OUT:-$here}" && pwd)
cd "$out_root"
engine=${PROMPT_ENGINE:-auto}
case "$engine" in auto|espeak|neural) ;; *) echo "PROMPT_ENGINE must be auto, espeak or neural" >&2; exit 1 ;; esac
command -v espeak-ng >/dev/null || { echo "espeak-ng is required" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is required" >&2; exit 1; }

voice_of() {
  case "$1" in
    en) echo en-us ;; fr) echo fr ;; ar) echo ar ;; ur) echo ur ;;
    *) echo "unknown locale $1" >&2; exit 1 ;;
  esac
}

# neural_ok: whether English goes to the neural voice in this run.
neural_ok() {
  case "$engine" in
    espeak) return 1 ;;
    neural) python3 -c 'import hibari' 2>/dev/null || { echo "PROMPT_ENGINE=neural: hibari-tts is not installed (pip install hibari-tts==0.2.1)" >&2; exit 1; } ;;
    auto) python3 -c 'import hibari' 2>/dev/null || { echo "warning: hibari-tts not installed; English prompts by espeak-ng (pip install hibari-tts==0.2.1 for the neural voice)" >&2; return 1; } ;;
  esac
}

# finish IN OUT: 8 kHz, silence trimmed (inner pauses capped at 120 ms),
# a 40 ms tail, G.711 µ-law.
finish() {
  sox -D -V1 -t wav "$1" -r 8000 -c 1 -b 16 -e signed-integer -t wav - \
      silence -l 1 0.01 0.2% -1 0.12 0.2% reverse silence 1 0.01 0.2% reverse pad 0 0.04 |
    sox -D -V1 -t wav - -e u-law -b 8 "$2"
}

# Lines "name|text" queued for the neural voice (flushed by flush_neural).
neural_queue=""

# render LOCALE NAME TEXT
render() {
  local loc=$1 name=$2 text=$3 voice
  voice=$(voice_of "$loc")
  mkdir -p "$loc"
  # What each prompt says: the neural voice renders a script part whole
  # from these (src/ivr/script.rs, Phrases).
  printf '%s|%s\n' "$name" "$text" >>"$loc/texts.tsv"
  if [[ "$loc" == en && "$neural_en" == 1 ]]; then
    neural_queue+="$name|$text"$'\n'
    return
  fi
  espeak-ng -v "$voice" -s 175 --stdout "$text" | finish - "$loc/$name.wav"
}

# flush_neural LOCALE: render the queued prompts in one hibari process.
flush_neural() {
  local loc=$1 raw f
  [[ -z "$neural_queue" ]] && return
  raw=$(mktemp -d)
  printf '%s' "$neural_queue" | python3 "$here/neural.py" "$raw"
  for f in "$raw"/*.wav; do finish "$f" "$loc/$(basename "$f")"; done
  rm -rf "$raw"
  neural_queue=""
}

# table LOCALE < "name|text" lines
table() {
  local loc=$1 name text
  while IFS='|' read -r name text; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    render "$loc" "$name" "$text"
  done
}

numbers() {
  local loc=$1 n
  for n in $(seq 0 99); do render "$loc" "$n" "$n"; done
}

gen_en() {
  numbers en
  table en <<'T'
and|and
hundred|hundred
thousand|thousand
lakh|lakh
crore|crore
million|million
billion|billion
pkr|rupees
pkr_one|rupee
pkr_minor|paisa
pkr_minor_one|paisa
inr|rupees
inr_one|rupee
inr_minor|paise
inr_minor_one|paisa
usd|dollars
usd_one|dollar
usd_minor|cents
usd_minor_one|cent
eur|euros
eur_one|euro
eur_minor|cents
eur_minor_one|cent
mad|dirhams
mad_one|dirham
mad_minor|centimes
mad_minor_one|centime
aed|dirhams
aed_one|dirham
aed_minor|fils
aed_minor_one|fils
sar|riyals
sar_one|riyal
sar_minor|halalas
sar_minor_one|halala
kwd|dinars
kwd_one|dinar
kwd_minor|fils
kwd_minor_one|fils
omr|rials
omr_one|rial
omr_minor|baisa
omr_minor_one|baisa
tnd|dinars
tnd_one|dinar
tnd_minor|millimes
tnd_minor_one|millime
xof|CFA francs
xof_one|CFA franc
greeting|Hello, this is an automated call about your order.
order_total|Your order total is
press_1_confirm_2_cancel|Press 1 to confirm your order, or press 2 to cancel it.
invalid_key|Sorry, that is not a valid choice.
confirmed_thanks|Thank you, your order is confirmed. Goodbye.
cancelled_thanks|Your order has been cancelled. Goodbye.
no_input|We did not receive your answer.
goodbye|Goodbye.
callback_no_order|Sorry, we could not find a pending order for this number. Goodbye.
enter_card_number|Please enter your card number, followed by the hash key.
enter_expiry|Please enter the expiry date: two digits for the month, then two for the year.
enter_cvc|Please enter the three digit security code from the back of your card.
enter_postal_code|Please enter your postal code, followed by the hash key.
press_1_confirm_2_reenter|Press 1 to confirm, or press 2 to enter it again.
payment_approved|Your payment was approved. Thank you.
payment_declined|Sorry, your payment was declined.
payment_cancelled|The payment has been cancelled.
amount_to_pay|The amount to pay is
# the confirmation script (issue #13; dialplans/confirm.toml)
hello|Hello
calling_from|this is a call from
about_order_number|about your order number
you_ordered|You ordered
more_items|more items
more_items_one|more item
total_including_delivery|The total, including delivery of
total_is|is
cash_on_delivery|to be paid in cash on delivery.
menu_script|Press 1 to confirm your order, 2 to cancel it, 3 to talk to a person, or 9 to hear this again.
operator_hold|Please hold while we find someone to help you.
operator_callback|Everyone is busy right now. Someone from our team will call you back shortly. Goodbye.
T
}

gen_fr() {
  numbers fr
  table fr <<'T'
and|et
hundred|cent
thousand|mille
million|million
millions|millions
billion|milliard
billions|milliards
pkr|roupies
pkr_one|roupie
pkr_minor|paisas
pkr_minor_one|paisa
inr|roupies
inr_one|roupie
inr_minor|paisas
inr_minor_one|paisa
usd|dollars
usd_one|dollar
usd_minor|cents
usd_minor_one|cent
eur|euros
eur_one|euro
eur_minor|centimes
eur_minor_one|centime
mad|dirhams
mad_one|dirham
mad_minor|centimes
mad_minor_one|centime
aed|dirhams
aed_one|dirham
aed_minor|fils
aed_minor_one|fils
sar|riyals
sar_one|riyal
sar_minor|halalas
sar_minor_one|halala
kwd|dinars
kwd_one|dinar
kwd_minor|fils
kwd_minor_one|fils
omr|rials
omr_one|rial
omr_minor|baïsas
omr_minor_one|baïsa
tnd|dinars
tnd_one|dinar
tnd_minor|millimes
tnd_minor_one|millime
xof|francs CFA
xof_one|franc CFA
# after a round million or milliard: "trois millions d'euros"
pkr_of|de roupies
inr_of|de roupies
usd_of|de dollars
eur_of|d'euros
mad_of|de dirhams
aed_of|de dirhams
sar_of|de riyals
kwd_of|de dinars
omr_of|de rials
tnd_of|de dinars
xof_of|de francs CFA
# before a feminine noun (une roupie); 71 and 91 end in onze and do not change
f1|une
f21|vingt et une
f31|trente et une
f41|quarante et une
f51|cinquante et une
f61|soixante et une
f81|quatre-vingt-une
greeting|Bonjour, ceci est un appel automatique concernant votre commande.
order_total|Le montant de votre commande est de
press_1_confirm_2_cancel|Appuyez sur 1 pour confirmer votre commande, ou sur 2 pour l'annuler.
invalid_key|Désolé, ce choix n'est pas valide.
confirmed_thanks|Merci, votre commande est confirmée. Au revoir.
cancelled_thanks|Votre commande a été annulée. Au revoir.
no_input|Nous n'avons pas reçu votre réponse.
goodbye|Au revoir.
callback_no_order|Désolé, nous n'avons trouvé aucune commande en attente pour ce numéro. Au revoir.
enter_card_number|Veuillez saisir le numéro de votre carte, suivi de la touche dièse.
enter_expiry|Veuillez saisir la date d'expiration : deux chiffres pour le mois, puis deux pour l'année.
enter_cvc|Veuillez saisir le code de sécurité à trois chiffres, au dos de votre carte.
enter_postal_code|Veuillez saisir votre code postal, suivi de la touche dièse.
press_1_confirm_2_reenter|Appuyez sur 1 pour confirmer, ou sur 2 pour recommencer la saisie.
payment_approved|Votre paiement a été accepté. Merci.
payment_declined|Désolé, votre paiement a été refusé.
payment_cancelled|Le paiement a été annulé.
amount_to_pay|Le montant à payer est de
# the confirmation script (issue #13; dialplans/confirm.toml)
hello|Bonjour
calling_from|ici
about_order_number|au sujet de votre commande numéro
you_ordered|Vous avez commandé
more_items|autres articles
more_items_one|autre article
total_including_delivery|Le total, livraison de
total_is|comprise, est de
cash_on_delivery|à payer en espèces à la livraison.
menu_script|Appuyez sur 1 pour confirmer votre commande, 2 pour l'annuler, 3 pour parler à un conseiller, ou 9 pour réécouter ce message.
operator_hold|Veuillez patienter, nous cherchons un conseiller.
operator_callback|Tous nos conseillers sont occupés. Un membre de notre équipe vous rappellera très bientôt. Au revoir.
T
}

# Arabic numbers before a feminine noun (روبية, بيسة, هللة): 3–10 take the
# opposite gender of the noun, so these differ from the plain 1–99
# (src/media/say/grammar.rs). Vocalised where espeak-ng would misread.
feminine_ar() {
  local -a unit=("" "واحدة" "اِثْنَتان" "ثَلاث" "أَرْبَع" "خَمْس" "سِتّ" "سَبْع" "ثَمانِي" "تِسْع" "عَشْر")
  local -a teen=("" "إِحْدى" "اِثْنَتا" "ثَلاثَ" "أَرْبَعَ" "خَمْسَ" "سِتَّ" "سَبْعَ" "ثَمانِيَ" "تِسْعَ")
  local -a tens=("" "" "عِشْرون" "ثَلاثون" "أَرْبَعون" "خَمْسون" "سِتّون" "سَبْعون" "ثَمانون" "تِسْعون")
  local n t u first
  for n in $(seq 1 10); do render ar "f$n" "${unit[$n]}"; done
  for n in $(seq 11 19); do render ar "f$n" "${teen[$((n - 10))]} عَشْرَة"; done
  for t in $(seq 2 9); do
    for u in $(seq 1 9); do
      case $u in 1) first="إِحْدى" ;; *) first=${unit[$u]} ;; esac
      render ar "f$((t * 10 + u))" "$first وَ${tens[$t]}"
    done
  done
}

gen_ar() {
  numbers ar
  feminine_ar
  local h
  for h in 100 200 300 400 500 600 700 800 900; do render ar "$h" "$h"; done
  table ar <<'T'
and|وَ
thousand|ألف
thousand_two|ألفان
thousands|آلاف
million|مليون
million_two|مليونان
millions|ملايين
billion|مليار
billion_two|ملياران
billions|مليارات
pkr|روبية
pkr_one|روبية واحدة
pkr_two|روبيتان
pkr_few|روبيات
pkr_minor|بيسة
pkr_minor_one|بيسة واحدة
pkr_minor_two|بيستان
pkr_minor_few|بيسات
inr|روبية
inr_one|روبية واحدة
inr_two|روبيتان
inr_few|روبيات
inr_minor|بيسة
inr_minor_one|بيسة واحدة
inr_minor_two|بيستان
inr_minor_few|بيسات
usd|دولار
usd_one|دولار واحد
usd_two|دولاران
usd_few|دولارات
usd_minor|سنت
usd_minor_one|سنت واحد
usd_minor_two|سنتان
usd_minor_few|سنتات
eur|يورو
eur_one|يورو واحد
eur_two|يوروان
eur_few|يوروهات
eur_minor|سنت
eur_minor_one|سنت واحد
eur_minor_two|سنتان
eur_minor_few|سنتات
mad|درهم
mad_one|درهم واحد
mad_two|درهمان
mad_few|دراهم
mad_minor|سنتيم
mad_minor_one|سنتيم واحد
mad_minor_two|سنتيمان
mad_minor_few|سنتيمات
aed|درهم
aed_one|درهم واحد
aed_two|درهمان
aed_few|دراهم
aed_minor|فلس
aed_minor_one|فلس واحد
aed_minor_two|فلسان
aed_minor_few|فلوس
sar|ريال
sar_one|ريال واحد
sar_two|ريالان
sar_few|ريالات
sar_minor|هللة
sar_minor_one|هللة واحدة
sar_minor_two|هللتان
sar_minor_few|هللات
kwd|دينار
kwd_one|دينار واحد
kwd_two|ديناران
kwd_few|دنانير
kwd_minor|فلس
kwd_minor_one|فلس واحد
kwd_minor_two|فلسان
kwd_minor_few|فلوس
omr|ريال
omr_one|ريال واحد
omr_two|ريالان
omr_few|ريالات
omr_minor|بيسة
omr_minor_one|بيسة واحدة
omr_minor_two|بيستان
omr_minor_few|بيسات
tnd|دينار
tnd_one|دينار واحد
tnd_two|ديناران
tnd_few|دنانير
tnd_minor|مليم
tnd_minor_one|مليم واحد
tnd_minor_two|مليمان
tnd_minor_few|مليمات
xof|فْرَنْك
xof_one|فْرَنْك واحد
xof_two|فْرَنْكان
xof_few|فْرَنْكات
greeting|مرحبا، هذه مكالمة آلية بخصوص طلبك.
order_total|المبلغ الإجمالي لطلبك هو
press_1_confirm_2_cancel|اضغط واحد لتأكيد طلبك، أو اضغط اثنين لإلغائه.
invalid_key|عذرا، هذا الاختيار غير صحيح.
confirmed_thanks|شكرا لك، تم تأكيد طلبك. مع السلامة.
cancelled_thanks|تم إلغاء طلبك. مع السلامة.
no_input|لم نتلق إجابتك.
goodbye|مع السلامة.
callback_no_order|عذرا، لم نجد طلبا معلقا لهذا الرقم. مع السلامة.
enter_card_number|الرجاء إدخال رقم بطاقتك، متبوعا بمفتاح المربع.
enter_expiry|الرجاء إدخال تاريخ انتهاء الصلاحية: رقمان للشهر، ثم رقمان للسنة.
enter_cvc|الرجاء إدخال رمز الأمان المكون من ثلاثة أرقام على ظهر بطاقتك.
enter_postal_code|الرجاء إدخال الرمز البريدي، متبوعا بمفتاح المربع.
press_1_confirm_2_reenter|اضغط واحد للتأكيد، أو اضغط اثنين لإعادة الإدخال.
payment_approved|تمت الموافقة على الدفع. شكرا لك.
payment_declined|عذرا، تم رفض الدفع.
payment_cancelled|تم إلغاء الدفع.
amount_to_pay|المبلغ المطلوب دفعه هو
# the confirmation script (issue #13; dialplans/confirm.toml)
hello|مرحبا
calling_from|معك
about_order_number|بخصوص طلبك رقم
you_ordered|طلبت
more_items|منتجات أخرى
more_items_one|منتج آخر
total_including_delivery|المجموع، شاملا التوصيل بقيمة
total_is|هو
cash_on_delivery|يدفع نقدا عند الاستلام.
menu_script|اضغط واحد لتأكيد طلبك، اثنين لإلغائه، ثلاثة للتحدث مع موظف، أو تسعة لإعادة الاستماع.
operator_hold|يرجى الانتظار بينما نبحث عن موظف لمساعدتك.
operator_callback|جميع الموظفين مشغولون الآن. سيتصل بك أحد أعضاء فريقنا قريبا. مع السلامة.
T
}

gen_ur() {
  numbers ur
  table ur <<'T'
and|اور
hundred|سو
thousand|ہزار
lakh|لاکھ
crore|کروڑ
million|ملین
billion|ارب
pkr|روپے
pkr_one|روپیہ
pkr_minor|پیسے
pkr_minor_one|پیسہ
inr|بھارتی روپے
inr_one|بھارتی روپیہ
inr_minor|پیسے
inr_minor_one|پیسہ
usd|ڈالر
usd_one|ڈالر
usd_minor|سینٹ
usd_minor_one|سینٹ
eur|یورو
eur_one|یورو
eur_minor|سینٹ
eur_minor_one|سینٹ
mad|مراکشی درہم
mad_one|مراکشی درہم
mad_minor|سنتیم
mad_minor_one|سنتیم
aed|اماراتی درہم
aed_one|اماراتی درہم
aed_minor|فلس
aed_minor_one|فلس
sar|سعودی ریال
sar_one|سعودی ریال
sar_minor|ہللہ
sar_minor_one|ہللہ
kwd|کویتی دینار
kwd_one|کویتی دینار
kwd_minor|فلس
kwd_minor_one|فلس
omr|عمانی ریال
omr_one|عمانی ریال
omr_minor|بیسہ
omr_minor_one|بیسہ
tnd|تیونسی دینار
tnd_one|تیونسی دینار
tnd_minor|ملیم
tnd_minor_one|ملیم
xof|سیفا فرانک
xof_one|سیفا فرانک
greeting|السلام علیکم، یہ آپ کے آرڈر کے بارے میں ایک خودکار کال ہے۔
order_total|آپ کے آرڈر کی کل رقم
press_1_confirm_2_cancel|آرڈر کی تصدیق کے لیے ایک دبائیں، یا منسوخ کرنے کے لیے دو دبائیں۔
invalid_key|معذرت، یہ درست انتخاب نہیں ہے۔
confirmed_thanks|شکریہ، آپ کے آرڈر کی تصدیق ہو گئی ہے۔ خدا حافظ۔
cancelled_thanks|آپ کا آرڈر منسوخ کر دیا گیا ہے۔ خدا حافظ۔
no_input|ہمیں آپ کا جواب موصول نہیں ہوا۔
goodbye|خدا حافظ۔
callback_no_order|معذرت، اس نمبر کے لیے کوئی زیر التوا آرڈر نہیں ملا۔ خدا حافظ۔
enter_card_number|براہ کرم اپنا کارڈ نمبر درج کریں، اور آخر میں ہیش کا بٹن دبائیں۔
enter_expiry|براہ کرم کارڈ کی میعاد کی تاریخ درج کریں: مہینے کے دو ہندسے، پھر سال کے دو ہندسے۔
enter_cvc|براہ کرم کارڈ کی پشت پر لکھا ہوا تین ہندسوں کا سیکیورٹی کوڈ درج کریں۔
enter_postal_code|براہ کرم اپنا پوسٹل کوڈ درج کریں، اور آخر میں ہیش کا بٹن دبائیں۔
press_1_confirm_2_reenter|تصدیق کے لیے ایک دبائیں، یا دوبارہ درج کرنے کے لیے دو دبائیں۔
payment_approved|آپ کی ادائیگی منظور ہو گئی ہے۔ شکریہ۔
payment_declined|معذرت، آپ کی ادائیگی مسترد کر دی گئی ہے۔
payment_cancelled|ادائیگی منسوخ کر دی گئی ہے۔
amount_to_pay|ادا کی جانے والی رقم
# the confirmation script (issue #13; dialplans/confirm.toml)
hello|السلام علیکم
calling_from|یہ کال ہے
about_order_number|آپ کے آرڈر نمبر کے بارے میں
you_ordered|آپ نے آرڈر کیا
more_items|مزید اشیاء
more_items_one|مزید چیز
total_including_delivery|ڈیلیوری چارجز
total_is|سمیت کل رقم
cash_on_delivery|ہے، جو ڈیلیوری پر نقد ادا کرنی ہے۔
menu_script|تصدیق کے لیے ایک دبائیں، منسوخ کرنے کے لیے دو، کسی نمائندے سے بات کرنے کے لیے تین، یا دوبارہ سننے کے لیے نو دبائیں۔
operator_hold|براہ کرم انتظار کریں، ہم آپ کے لیے نمائندہ تلاش کر رہے ہیں۔
operator_callback|اس وقت تمام نمائندے مصروف ہیں۔ ہماری ٹیم کا کوئی رکن جلد آپ کو واپس کال کرے گا۔ خدا حافظ۔
T
}

locales=("$@")
[[ ${#locales[@]} -eq 0 ]] && locales=(en fr ar ur)
neural_en=0
for loc in "${locales[@]}"; do
  voice_of "$loc" >/dev/null
  if [[ "$loc" == en ]] && neural_ok; then neural_en=1; fi
  rm -rf "$loc"
  "gen_$loc"
  flush_neural "$loc"
  LC_ALL=C sort -o "$loc/texts.tsv" "$loc/texts.tsv"
  echo "$loc: $(ls "$loc"/*.wav | wc -l) prompts, $(du -sh "$loc" | cut -f1)"
done
