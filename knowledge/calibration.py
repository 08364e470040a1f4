"""Fitting the matcher's ranking/confidence weights and choosing its answer threshold.

Run as ``python -m knowledge.evaluate --fit``; it prints the constants to paste into
``knowledge/matcher.py``. No dev/held-out question is used:

* in-domain: every KB paraphrase asked against a matcher built without it (5 folds,
  ``loo_folds``), and each again behind a context sentence (``CONTEXTS``) the way owners
  describe their company before asking;
* out-of-scope: the odd-numbered lines of ``shared/eval/chitchat_ko.txt`` (the even ones
  built ``background.tsv``) and ``OUT_OF_SCOPE`` below, business questions a factory owner
  asks that the programme does not cover, also behind context sentences.

The ranking model is a logistic regression on candidate features (label: the candidate
is the held-out paraphrase's entry). The confidence model is a logistic regression on the
best candidate (label: its topic is right; out-of-scope rows are all negative), with the
in-domain, chit-chat and business out-of-scope sets weighted equally. The answer threshold
is the lowest confidence at which at most ``MAX_CHITCHAT_ANSWERED`` of chit-chat and
``MAX_OOS_ANSWERED`` of the business questions are answered.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from .loader import Entry
from .matcher import (ANSWER_MIN_UNITS, CONFIDENCE_FEATURES, FEATURES, Matcher, _sigmoid,
                      confidence_row)

MAX_CHITCHAT_ANSWERED = 0.002
MAX_OOS_ANSWERED = 0.02

# Sentences owners put before their question (company, situation). Written for calibration.
CONTEXTS = (
    "저희는 경기 시흥에서 금속 가공하는 직원 30명 회사예요.",
    "대구 성서공단에서 자동차 부품 만드는 회사입니다.",
    "충남 천안에서 식품 포장 공장을 하고 있어요.",
    "직원은 열다섯 명 정도고 주로 플라스틱 사출을 해요.",
    "작년에 대표가 바뀌어서 제가 이것저것 알아보고 있습니다.",
    "제가 이런 쪽은 처음이라 잘 몰라서 여쭤봐요.",
    "거래처에서 자꾸 권해서 알아보는 중인데요,",
    "공장장님이 한번 물어보라고 하셔서요.",
    "요즘 일손 구하기가 너무 힘들어서 고민이 많아요.",
    "아버지 회사를 물려받은 지 얼마 안 됐어요.",
    "창원에서 기계 부품 가공을 20년째 하고 있습니다.",
    "저희 회사는 화학 원료를 소분해서 납품하는 곳이에요.",
    "광주 하남산단에서 금형 만드는 작은 회사인데요.",
    "인천 남동공단에 공장이 있고 직원은 40명입니다.",
    "경리 담당이 그만둬서 제가 대신 챙기고 있어요.",
    "올해 매출이 좀 줄어서 비용을 아껴야 하는 상황이에요.",
    "밤에 일 끝나고 짬 내서 물어봅니다.",
    "전북 익산에서 떡이랑 한과 만드는 공장을 해요.",
    "저희는 3교대로 공장을 돌리는 섬유 회사입니다.",
    "지인이 알려줘서 처음 들어와 봤어요.",
)

# Business questions outside the programme. Written for calibration.
OUT_OF_SCOPE = (
    "법인세 중간예납 언제까지 내야 해요?",
    "종합소득세 신고 기간이 언제예요",
    "세금계산서 발행 취소는 어떻게 해요",
    "4대보험 가입 안 하면 과태료 얼마예요?",
    "퇴직금 계산 어떻게 하는 거예요",
    "연차수당 줘야 하나요 직원이 5명인데",
    "주52시간 우리 같은 작은 회사도 적용돼요?",
    "산재 처리하면 보험료 올라가요?",
    "청년 채용하면 나오는 장려금 있어요?",
    "직원 출퇴근 버스 운영비 지원 있나요",
    "직원 급여 통장 압류 들어왔는데 어떻게 해요",
    "해고 예고 수당은 며칠치 줘야 돼요",
    "공장 담보로 추가 대출 얼마나 나와요",
    "기술보증기금 보증서 발급 받는 법",
    "신용보증재단 대출 연장 되나요",
    "소상공인 대출 이자 지원 있어요?",
    "수출 보험 가입은 어디서 해요",
    "무역협회 회원 가입하면 뭐가 좋아요",
    "해외 전시회 참가비 지원해주는 곳 있어요?",
    "원산지 증명서 발급 방법",
    "관세 환급 신청은 어떻게 하나요",
    "KC 인증 받는데 비용 얼마나 들어요",
    "HACCP 인증 준비 기간 얼마나 걸려요",
    "메인비즈 인증 조건 알려주세요",
    "여성기업 확인서 발급 방법",
    "직접생산확인 신청하려면 뭐 필요해요",
    "나라장터 입찰 참가 등록 어떻게 해요",
    "조달청 우수제품 지정 받으려면",
    "상표 출원하면 등록까지 얼마나 걸려요",
    "특허 침해 경고장 받았는데 어쩌죠",
    "R&D 과제 협약 변경 신청 방법",
    "연구원 인건비 현물로 잡아도 되나요 R&D 과제에서",
    "공장 증축 허가 받으려면 어디 가야 해요",
    "폐수 배출시설 신고 대상인가요",
    "소방 점검 업체는 어디서 구해요",
    "전기요금 산업용으로 바꾸는 방법",
    "도시가스 공급 신청 공장도 되나요",
    "지게차 면허 없이 운전하면 벌금 있어요?",
    "화물차 지입 계약 주의할 점",
    "공장 임대료 적정 수준이 얼마예요",
    "경매로 나온 공장 사도 괜찮을까요",
    "가업승계 증여세 공제 받는 조건",
    "법인 전환하면 세금 줄어요?",
    "사업자등록증 주소 변경 어떻게 해요",
    "대표자 변경 등기 비용 얼마예요",
    "거래처가 대금을 안 줘요 소송해야 하나요",
    "어음 부도 나면 어떻게 되나요",
    "카드 단말기 수수료 얼마나 나와요",
    "원자재 값이 너무 올랐는데 납품 단가 조정 요청해도 되나요",
    "하도급 대금 지연 신고는 어디에 해요",
    "공정위 신고하면 익명 보장돼요?",
    "중대재해처벌법 50인 미만도 적용돼요?",
    "안전관리자 선임 의무 몇 명부터예요",
    "산업안전 보건교육 온라인으로 해도 돼요?",
    "작업환경측정 주기가 어떻게 돼요",
    "직원 건강검진 회사에서 꼭 해줘야 하나요",
    "기숙사 지어주면 세금 혜택 있어요?",
    "청년내일채움공제 아직 가입 돼요?",
    "두루누리 사회보험 지원 받을 수 있어요?",
    "고용보험 환급 과정 교육 신청 방법",
    "직업훈련 지원금으로 직원 교육 보낼 수 있나요",
    "회사 홈페이지 만드는데 지원금 있어요",
    "온라인 쇼핑몰 입점 지원 사업 있나요",
    "홈쇼핑 판로 지원 신청은 어디서 해요",
    "디자인 개발 지원 사업 공고 언제 나와요",
    "창업 3년 안 됐는데 받을 수 있는 창업 지원금 있어요",
    "벤처투자 받으려면 어디에 연락해요",
    "엔젤투자 매칭펀드가 뭐예요",
    "은행 대출 금리 인하 요구권 쓸 수 있나요",
    "현금영수증 의무발행 업종인가요 우리도",
    "원천세 신고 누락하면 가산세 얼마예요",
    "세무조사 나오면 뭘 준비해야 돼요",
    "회계사 기장료 보통 얼마예요",
    "직원 식대 비과세 한도 올랐어요?",
    "법인차 번호판 연두색 꼭 달아야 해요?",
    "공장 화재보험 얼마짜리 들어야 해요",
    "물류비 아끼는 방법 있을까요",
    "중국 공장 이전하면 지원 있어요?",
    "리쇼어링 기업 지원 조건이 뭐예요",
    "탄소배출권 거래 우리 회사도 해당돼요?",
    "ESG 평가 협력사도 받아야 되나요",
    "에너지 효율 설비 교체 보조금 있어요?",
    "태양광 지붕에 설치하면 지원 나와요?",
    "노조 생기면 회사가 뭘 해야 하나요",
    "명절 선물 거래처에 보내면 접대비 처리돼요?",
    "야간수당 계산법 알려주세요",
    "직원이 무단결근하는데 해고 가능해요?",
    "근로계약서 양식 어디서 받아요",
    "택배 계약 단가 협상 요령 있어요?",
    "중소기업 기준 매출액 얼마예요",
    "공장 지붕 석면 철거 비용 지원 되나요",
    "환경부 녹색인증 혜택 알려주세요",
    "사내 동호회 지원금 비용처리 돼요?",
    "연구개발비 세액공제 얼마나 받아요",
)


@dataclass
class Sample:
    """One question's candidate features, as the matcher computed them."""

    text: str
    topic: str  # gold topic or "OOD"
    entry_id: str | None  # gold entry (leave-one-out) or None
    group: str  # "in", "chitchat", "oos"
    cand_ids: list[str]
    cand_topics: list[str]
    feats: np.ndarray
    units_found: np.ndarray
    extra: tuple  # query values for the confidence row


def loo_folds(entries: Sequence[Entry], folds: int = 5) -> list[tuple[list[Entry], list[tuple[str, Entry]]]]:
    """(entries without fold k's paraphrases, [(paraphrase, its entry)]) for k < folds."""
    out = []
    for k in range(folds):
        kept, asked = [], []
        for e in entries:
            keep = []
            for j, p in enumerate(e.paraphrases):
                if (j + len(e.id)) % folds == k:  # deterministic, spread over entries
                    asked.append((p, e))
                else:
                    keep.append(p)
            kept.append(replace(e, paraphrases=tuple(keep)))
        out.append((kept, asked))
    return out


def with_context(texts: Iterable[str], seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{CONTEXTS[int(rng.integers(len(CONTEXTS)))]} {t}" for t in texts]


def sample(matcher: Matcher, text: str, topic: str, group: str, entry_id: str | None = None,
           today: dt.date | None = None) -> Sample | None:
    """Candidate features of one question, or None when it never reaches ranking."""
    info = matcher._analyse(text, today or dt.date.today())
    if info is None:
        return None
    q, cand, feats, units_found = info
    return Sample(text, topic, entry_id, group,
                  [matcher.entries[c].id for c in cand], [matcher.entries[c].topic for c in cand],
                  feats, units_found, (q.n_units, q.known_share, q.domain_weight / max(q.weight, 1e-9)))



def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3,
                 iters: int = 4000, lr: float = 2.0) -> tuple[np.ndarray, float]:
    Xb = np.hstack([X, np.ones((len(X), 1))])
    beta = np.zeros(Xb.shape[1])
    w = w / w.sum()
    for _ in range(iters):
        p = _sigmoid(Xb @ beta)
        beta -= lr * (Xb.T @ ((p - y) * w) + l2 * np.r_[beta[:-1], 0.0])
    return beta[:-1], float(beta[-1])


def _row(s: Sample, weights: np.ndarray, bias: float) -> tuple[np.ndarray, int]:
    logit = s.feats @ weights + bias
    row, order = confidence_row(s.feats, s.cand_topics, logit, *s.extra)
    return row, int(order[0])


def fit(samples: list[Sample], totals: dict[str, int]) -> dict:
    """Fit both models and the threshold; returns the constants and the figures.

    ``totals``: questions asked per group (questions that never reached ranking have no
    sample and count as not answered).
    """
    ins = [s for s in samples if s.group == "in"]
    X = np.vstack([s.feats for s in ins])
    y = np.concatenate([[1.0 if cid == s.entry_id else 0.0 for cid in s.cand_ids] for s in ins])
    rank_w, rank_b = fit_logistic(X, y, np.ones(len(y)))

    rows, labels, groups, tops = [], [], [], []
    for s in samples:
        row, top = _row(s, rank_w, rank_b)
        rows.append(row)
        labels.append(1.0 if s.group == "in" and s.cand_topics[top] == s.topic else 0.0)
        groups.append(s.group)
        tops.append(top)
    R, Y, G = np.vstack(rows), np.array(labels), np.array(groups)
    weights = np.zeros(len(Y))
    for g in ("in", "chitchat", "oos"):
        mask = G == g
        if mask.any():
            weights[mask] = 1.0 / mask.sum()
    conf_w, conf_b = fit_logistic(R, Y, weights, iters=6000)
    conf = _sigmoid(R @ conf_w + conf_b)
    units_ok = np.array([s.units_found[t] >= ANSWER_MIN_UNITS for s, t in zip(samples, tops)])

    def share(answered: np.ndarray, group: str) -> float:
        return float(answered[G == group].sum()) / max(totals.get(group, 0), 1)

    threshold = 0.99
    for t in np.arange(0.30, 0.99, 0.01):
        answered = (conf >= t) & units_ok
        if share(answered, "chitchat") <= MAX_CHITCHAT_ANSWERED and share(answered, "oos") <= MAX_OOS_ANSWERED:
            threshold = round(float(t), 2)
            break
    answered = (conf >= threshold) & units_ok
    inn = G == "in"
    figures = {
        "in-domain answered": share(answered, "in"),
        "in-domain precision": float(Y[inn & answered].mean()) if (inn & answered).any() else 0.0,
        "chit-chat answered": share(answered, "chitchat"),
        "out-of-scope answered": share(answered, "oos"),
    }
    return {"RANK_WEIGHTS": rank_w, "RANK_BIAS": rank_b, "CONFIDENCE_WEIGHTS": conf_w,
            "CONFIDENCE_BIAS": conf_b, "ANSWER_MIN_CONFIDENCE": threshold, "figures": figures}


def format_constants(result: dict) -> str:
    def arr(v):
        return "np.array([" + ", ".join(f"{x:.3f}" for x in v) + "], np.float32)"
    lines = [
        f"RANK_WEIGHTS = {arr(result['RANK_WEIGHTS'])}  # {', '.join(FEATURES)}",
        f"RANK_BIAS = {result['RANK_BIAS']:.3f}",
        f"CONFIDENCE_WEIGHTS = {arr(result['CONFIDENCE_WEIGHTS'])}  # CONFIDENCE_FEATURES",
        f"CONFIDENCE_BIAS = {result['CONFIDENCE_BIAS']:.3f}",
        f"ANSWER_MIN_CONFIDENCE = {result['ANSWER_MIN_CONFIDENCE']}",
    ]
    lines += [f"# {k}: {v:.4f}" for k, v in result["figures"].items()]
    assert len(CONFIDENCE_FEATURES) == len(result["CONFIDENCE_WEIGHTS"])
    return "\n".join(lines)
