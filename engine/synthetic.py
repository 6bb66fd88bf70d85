"""A learnable parallel QA set in the seven MLQA languages, generated offline and seeded.

Each paragraph tells of invented people (one by default; `people=2` is a harder set): where and when each was born and what each does.
Questions ask one fact of one person. The same qid has the same facts in every language, written with
each language's own templates and words; answer offsets are exact by construction.
"""

from __future__ import annotations

import random
import re

from engine.data.records import records_to_dataset
from engine.languages import MLQA_LANGUAGES

LANGS = MLQA_LANGUAGES  # en es de ar hi vi zh

CITIES = [  # en es de ar hi vi zh
    ("London", "Londres", "London", "لندن", "लंदन", "Luân Đôn", "伦敦"),
    ("Paris", "París", "Paris", "باريس", "पेरिस", "Pa-ri", "巴黎"),
    ("Rome", "Roma", "Rom", "روما", "रोम", "Rô-ma", "罗马"),
    ("Madrid", "Madrid", "Madrid", "مدريد", "मैड्रिड", "Madrid", "马德里"),
    ("Berlin", "Berlín", "Berlin", "برلين", "बर्लिन", "Béc-lin", "柏林"),
    ("Cairo", "El Cairo", "Kairo", "القاهرة", "काहिरा", "Cai-rô", "开罗"),
    ("Delhi", "Delhi", "Delhi", "دلهي", "दिल्ली", "Đê-li", "德里"),
    ("Hanoi", "Hanói", "Hanoi", "هانوي", "हनोई", "Hà Nội", "河内"),
    ("Beijing", "Pekín", "Peking", "بكين", "बीजिंग", "Bắc Kinh", "北京"),
    ("Tokyo", "Tokio", "Tokio", "طوكيو", "टोक्यो", "Tô-ky-ô", "东京"),
    ("Vienna", "Viena", "Wien", "فيينا", "वियना", "Viên", "维也纳"),
    ("Lisbon", "Lisboa", "Lissabon", "لشبونة", "लिस्बन", "Li-xbon", "里斯本"),
]
PROFESSIONS = [
    ("teacher", "profesor", "Lehrer", "مدرسا", "शिक्षक", "giáo viên", "教师"),
    ("doctor", "médico", "Arzt", "طبيبا", "डॉक्टर", "bác sĩ", "医生"),
    ("engineer", "ingeniero", "Ingenieur", "مهندسا", "इंजीनियर", "kỹ sư", "工程师"),
    ("painter", "pintor", "Maler", "رساما", "चित्रकार", "họa sĩ", "画家"),
    ("farmer", "agricultor", "Landwirt", "مزارعا", "किसान", "nông dân", "农民"),
    ("writer", "escritor", "Schriftsteller", "كاتبا", "लेखक", "nhà văn", "作家"),
    ("lawyer", "abogado", "Anwalt", "محاميا", "वकील", "luật sư", "律师"),
    ("pilot", "piloto", "Pilot", "طيارا", "पायलट", "phi công", "飞行员"),
    ("chef", "cocinero", "Koch", "طباخا", "रसोइया", "đầu bếp", "厨师"),
    ("musician", "músico", "Musiker", "موسيقيا", "संगीतकार", "nhạc sĩ", "音乐家"),
]
SENTENCES = {  # born (city, year), job (prof); placeholders are the answer spans
    "en": ("{name} was born in {city} in {year}. ", "{name} works as {a} {prof}. "),
    "es": ("{name} nació en {city} en {year}. ", "{name} trabaja como {prof}. "),
    "de": ("{name} wurde {year} in {city} geboren. ", "{name} arbeitet als {prof}. "),
    "ar": ("وُلد {name} في {city} عام {year}. ", "يعمل {name} {prof}. "),
    "hi": ("{name} का जन्म {year} में {city} में हुआ था। ", "{name} {prof} के रूप में काम करते हैं। "),
    "vi": ("{name} sinh ra tại {city} vào năm {year}. ", "{name} làm nghề {prof}. "),
    "zh": ("{name}于{year}年出生在{city}。", "{name}是一名{prof}。"),
}
QUESTIONS = {  # city, year, prof
    "en": ("Where was {name} born?", "In what year was {name} born?", "What does {name} work as?"),
    "es": ("¿Dónde nació {name}?", "¿En qué año nació {name}?", "¿De qué trabaja {name}?"),
    "de": ("Wo wurde {name} geboren?", "In welchem Jahr wurde {name} geboren?", "Als was arbeitet {name}?"),
    "ar": ("أين وُلد {name}؟", "في أي عام وُلد {name}؟", "ما هي مهنة {name}؟"),
    "hi": ("{name} का जन्म कहाँ हुआ था?", "{name} का जन्म किस वर्ष हुआ था?", "{name} क्या काम करते हैं?"),
    "vi": ("{name} sinh ra ở đâu?", "{name} sinh năm nào?", "{name} làm nghề gì?"),
    "zh": ("{name}出生在哪里？", "{name}是哪一年出生的？", "{name}的职业是什么？"),
}
FACTS = ("city", "year", "prof")
FIRST = ["Ana", "Boris", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jana", "Karim", "Lena",
         "Milo", "Nadia", "Omar", "Petra", "Quan", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zora"]
SYLLABLES = ["ba", "ko", "ri", "ta", "mu", "sel", "dan", "vik", "lor", "nes", "pa", "ze", "gu", "hal", "tin"]
_FIELD = re.compile(r"\{(\w+)\}")


def _render(template: str, values: dict) -> tuple[str, dict]:
    """Fill the template; return the text and the char span of each field."""
    out, spans, pos = [], {}, 0
    parts = _FIELD.split(template)  # even: literal text, odd: field names
    for i, part in enumerate(parts):
        text = values[part] if i % 2 else part
        if i % 2:
            spans[part] = (pos, pos + len(text))
        out.append(text)
        pos += len(text)
    return "".join(out), spans


def _person(rng: random.Random) -> dict:
    surname = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return {"name": f"{rng.choice(FIRST)} {surname}", "city": rng.randrange(len(CITIES)),
            "year": str(rng.randint(1850, 2005)), "prof": rng.randrange(len(PROFESSIONS))}


def _paragraph(people: list[dict], order: list[tuple[int, int]], lang: str) -> tuple[str, dict]:
    """order: (person, sentence kind) in reading order; returns context and spans[(person, fact)]."""
    li = LANGS.index(lang)
    text, spans = "", {}
    for p, kind in order:
        person = people[p]
        prof = PROFESSIONS[person["prof"]][li]
        values = {"name": person["name"], "city": CITIES[person["city"]][li], "year": person["year"],
                  "prof": prof, "a": "an" if prof[0] in "aeiou" else "a"}
        sentence, s = _render(SENTENCES[lang][kind], values)
        for fact in FACTS:
            if fact in s:
                spans[(p, fact)] = (len(text) + s[fact][0], len(text) + s[fact][1])
        text += sentence
    return text.strip(), spans


def generate(n_paragraphs: int = 200, languages=LANGS, seed: int = 0, questions_per_paragraph: int = 3,
             people: int = 1):
    """Records (one table, every language) with ids `{qid}.{lang}` and shared qids `syn-NNNNN`."""
    rng = random.Random(seed)
    records = []
    for par in range(n_paragraphs):
        persons, names = [], set()
        while len(persons) < people:
            person = _person(rng)
            if person["name"] not in names:
                names.add(person["name"])
                persons.append(person)
        order = [(p, k) for p in range(people) for k in (0, 1)]
        rng.shuffle(order)
        facts = [(p, f) for p in range(people) for f in FACTS]
        asked = rng.sample(facts, min(questions_per_paragraph, len(facts)))
        for lang in languages:
            context, spans = _paragraph(persons, order, lang)
            for qn, (p, fact) in enumerate(asked):
                start, end = spans[(p, fact)]
                qid = f"syn-{par:05d}-{qn}"
                records.append({
                    "id": f"{qid}.{lang}", "qid": qid, "lang_q": lang, "lang_c": lang, "title": f"synthetic-{par:05d}",
                    "question": QUESTIONS[lang][FACTS.index(fact)].format(name=persons[p]["name"]),
                    "context": context, "answers": {"text": [context[start:end]], "answer_start": [start]},
                })
    return records_to_dataset(records)


