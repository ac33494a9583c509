// The domain's words, Chinese (zh-CN) first, English second, in one shape for both front
// ends: LABELS[lang][group][value], where `value` is what the protocol sends (a category,
// a status, a flag, an event type...). A front end that words a value its own way for its
// readers names only those values in a table of the same shape (see withWording).

export const LABELS = {
  "zh-CN": {
    category: {
      criminal: "刑事", public_order: "治安", dispute: "纠纷", help: "求助",
      traffic: "交通", non_police: "非警务", other: "其他",
    },
    area_type: { urban: "城区", rural: "农村" },
    status: { received: "待派警", dispatched: "已派警", diverted: "已分流", closed: "已办结", cancelled: "已撤销" },
    clock: {
      dispatch: "派警", arrival: "到场", initial_result: "初步结果", clear: "日清", evidence: "证据",
      agency_ack: "签收时限", agency_feedback: "反馈时限",
      supervision: "督办时限", rectification: "整改时限",
    },
    flag: {
      late: "迟报", clock_suspect: "时间可疑", conflict: "版本冲突",
      evidence_mismatch: "证据不符", pending_base: "等待前一版本", far_arrival: "到达位置偏远",
    },
    review: {
      late: "迟报", clock_suspect: "时间可疑", conflict: "版本冲突",
      evidence_mismatch: "证据不符", overdue: "超时", missing_evidence: "证据缺失",
      far_arrival: "到达位置偏远", citizen_unsatisfied: "群众不满意",
    },
    // PROTOCOL §9: the citizen's verdict, where it came from, and the callback task's state.
    rating: { satisfied: "满意", basically_satisfied: "基本满意", unsatisfied: "不满意" },
    dimension: { reception: "接警态度", timeliness: "出警时间", conduct: "警容风纪", handling: "现场处理", overall: "总体评价" },
    feedback_source: { callback: "回访", qr: "扫码", poster: "海报" },
    callback_state: { due: "待回访", done: "已回访", unreachable: "无法联系" },
    result: {
      resolved: "已解决", mediated: "已调解", case_accepted: "已受案", diverted: "已分流",
      no_finding: "查无实据", transferred: "已移交",
    },
    agreement: { reached: "达成协议", partial: "部分达成", failed: "未达成" },
    evidence: { interview_record: "询问笔录", witness_statement: "证人证言", scene_inspection: "现场勘察", other: "其他" },
    role: {
      dispatcher: "接警员", supervisor: "督察", admin: "管理员", station_chief: "所长",
      officer: "民警", grid_worker: "网格员", mediator: "调解员", agency: "联动单位",
    },
    event: {
      created: "接警", received: "接警", dispatched: "派警", reassigned: "改派", cancelled: "撤销",
      closed: "办结销号", point_check: "点调", arrival: "到场", scene_report: "现场情况",
      disposition: "处置结果", bodycam_ref: "执法记录仪", mediation_outcome: "调解结果",
      evidence_item: "证据", note: "备注", ack_dispatch: "确认接收派警",
      point_check_reply: "点调回复", bodycam_reviewed: "视频已查看",
      rating_invite: "邀请评价", agency_feedback: "办理反馈",
      supervision_reply: "督办回复", rectification: "整改报告", case_progress: "案件进展",
    },
    // PROTOCOL §10: what a linked agency answers about a call diverted to it.
    agency_outcome: { handled: "已办结", referred: "已转交", returned: "退回（非本单位职责）" },
    // PROTOCOL §11: supervision orders (督办), notices (通报), rectification (整改), cases.
    supervision_level: { station: "督办", bureau: "挂牌督办" },
    supervision_state: { open: "待回复", answered: "已回复待审", accepted: "已办结" },
    notice_kind: { criticism: "通报批评", commendation: "通报表扬", briefing: "情况通报" },
    rectification_state: { owed: "待整改", done: "已整改", overdue: "整改超期" },
    case_stage: { filed: "立案", solved: "破案", closed: "结案", transferred: "移送" },
  },
  en: {
    category: {
      criminal: "criminal", public_order: "public order", dispute: "dispute", help: "help",
      traffic: "traffic", non_police: "non-police", other: "other",
    },
    area_type: { urban: "urban", rural: "rural" },
    status: { received: "received", dispatched: "dispatched", diverted: "diverted", closed: "closed", cancelled: "cancelled" },
    clock: {
      dispatch: "dispatch", arrival: "arrival", initial_result: "initial result", clear: "clear", evidence: "evidence",
      agency_ack: "ack due", agency_feedback: "feedback due",
      supervision: "supervision due", rectification: "rectification due",
    },
    flag: {
      late: "late", clock_suspect: "clock suspect", conflict: "conflict",
      evidence_mismatch: "evidence mismatch", pending_base: "waiting for parent version",
      far_arrival: "arrival far from the scene",
    },
    review: {
      late: "late", clock_suspect: "clock suspect", conflict: "conflict",
      evidence_mismatch: "evidence mismatch", overdue: "overdue", missing_evidence: "missing evidence",
      far_arrival: "arrival far from the scene", citizen_unsatisfied: "citizen unsatisfied",
    },
    rating: { satisfied: "satisfied", basically_satisfied: "basically satisfied", unsatisfied: "unsatisfied" },
    dimension: { reception: "reception", timeliness: "response time", conduct: "conduct", handling: "handling", overall: "overall" },
    feedback_source: { callback: "callback", qr: "QR code", poster: "poster" },
    callback_state: { due: "due", done: "done", unreachable: "unreachable" },
    result: {
      resolved: "resolved", mediated: "mediated", case_accepted: "case accepted", diverted: "diverted",
      no_finding: "no finding", transferred: "transferred",
    },
    agreement: { reached: "agreement reached", partial: "partial agreement", failed: "no agreement" },
    evidence: { interview_record: "interview record", witness_statement: "witness statement", scene_inspection: "scene inspection", other: "other" },
    role: {
      dispatcher: "dispatcher", supervisor: "supervisor", admin: "admin", station_chief: "station chief",
      officer: "officer", grid_worker: "grid worker", mediator: "mediator", agency: "agency",
    },
    event: {
      created: "call received", received: "call received", dispatched: "dispatched", reassigned: "reassigned", cancelled: "cancelled",
      closed: "closed", point_check: "point-check", arrival: "arrival", scene_report: "scene report",
      disposition: "disposition", bodycam_ref: "body camera", mediation_outcome: "mediation outcome",
      evidence_item: "evidence", note: "note", ack_dispatch: "dispatch acknowledged",
      point_check_reply: "point-check reply", bodycam_reviewed: "clip reviewed",
      rating_invite: "rating invite", agency_feedback: "agency feedback",
      supervision_reply: "supervision reply", rectification: "rectification report", case_progress: "case progress",
    },
    agency_outcome: { handled: "handled", referred: "referred", returned: "returned (not our duty)" },
    supervision_level: { station: "supervision", bureau: "listed supervision (bureau)" },
    supervision_state: { open: "awaiting reply", answered: "answered, to review", accepted: "accepted" },
    notice_kind: { criticism: "criticism", commendation: "commendation", briefing: "briefing" },
    rectification_state: { owed: "owed", done: "done", overdue: "overdue" },
    case_stage: { filed: "filed", solved: "solved", closed: "closed", transferred: "transferred" },
  },
};
