from enum import StrEnum


class DisputesAction(StrEnum):
    OBJECTION_RAISED = "disputes.objection.raised"
    OBJECTION_ANSWERED = "disputes.objection.answered"
