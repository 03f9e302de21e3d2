"""SQLModel tables, one module per area. The domain stays plain Python; repositories map rows to domain objects.

Importing this package registers every table on ``SQLModel.metadata`` (migrations and tests rely on it); the table
modules import only ``storage.tables.types``, never each other or this package.
"""

from storage.tables.alerts import (
    EmergencyAlertRow,
)
from storage.tables.catalogue import (
    CatalogueEntryRow,
    CatalogueTierRow,
    OrderCatalogueMatchRow,
)
from storage.tables.circuits import (
    AnnouncementRow,
    CircuitChangeRow,
    ExpertProfileRow,
    LeaveRow,
    OutboxRow,
)
from storage.tables.core import (
    AuditRow,
    ButtonRow,
    ChatAccountRow,
    CircuitExpertRow,
    CircuitRow,
    CircuitWorkRow,
    CounterRow,
    InstitutionRow,
    InviteRow,
    OrderOutcomeRow,
    OrderRow,
    PlaceRow,
    ProcessedUpdateRow,
    PromptRow,
    ResidentRow,
    SpecialtyRow,
    StaffRoleRow,
    StaffRow,
    StaffSpecialtyRow,
    SubscriptionRow,
    SupportRow,
)
from storage.tables.ledgers import (
    AbsenceRow,
    DashboardCredentialRow,
    DashboardSessionRow,
    KeyPhysicianRow,
    LeadRow,
    RatingRow,
    YearlyTargetRow,
)
from storage.tables.links import (
    ConfirmationRow,
    ResidentLinkRow,
)
from storage.tables.referrals import (
    FollowupTaskRow,
    ReferralRow,
    ReferralSlotRow,
)
from storage.tables.remote import (
    RemoteSessionRow,
)
from storage.tables.send_budget import (
    SendBudgetRow,
)
from storage.tables.sms import (
    SmsMessageRow,
    SmsRegistrationRow,
)
from storage.tables.survey import (
    SurveyImportRow,
)
from storage.tables.types import UtcDateTime, utc_field
from storage.tables.wechat import (
    WeChatHeldRow,
    WeChatNonceRow,
    WeChatQrRow,
    WeChatTokenRow,
    WeChatUserRow,
)

__all__ = [
    "AbsenceRow",
    "AnnouncementRow",
    "AuditRow",
    "ButtonRow",
    "CatalogueEntryRow",
    "CatalogueTierRow",
    "ChatAccountRow",
    "CircuitChangeRow",
    "CircuitExpertRow",
    "CircuitRow",
    "CircuitWorkRow",
    "ConfirmationRow",
    "CounterRow",
    "DashboardCredentialRow",
    "DashboardSessionRow",
    "EmergencyAlertRow",
    "ExpertProfileRow",
    "FollowupTaskRow",
    "InstitutionRow",
    "InviteRow",
    "KeyPhysicianRow",
    "LeadRow",
    "LeaveRow",
    "OrderCatalogueMatchRow",
    "OrderOutcomeRow",
    "OrderRow",
    "OutboxRow",
    "PlaceRow",
    "ProcessedUpdateRow",
    "PromptRow",
    "RatingRow",
    "ReferralRow",
    "ReferralSlotRow",
    "RemoteSessionRow",
    "ResidentLinkRow",
    "ResidentRow",
    "SendBudgetRow",
    "SmsMessageRow",
    "SmsRegistrationRow",
    "SpecialtyRow",
    "StaffRoleRow",
    "StaffRow",
    "StaffSpecialtyRow",
    "SubscriptionRow",
    "SupportRow",
    "SurveyImportRow",
    "UtcDateTime",
    "WeChatHeldRow",
    "WeChatNonceRow",
    "WeChatQrRow",
    "WeChatTokenRow",
    "WeChatUserRow",
    "YearlyTargetRow",
    "utc_field",
]
