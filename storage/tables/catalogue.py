"""The first-diagnosis catalogue (基层首诊病种目录) of each township or community health center: dated entries, the
target a center is held to, and the entry an order's need matched when it was filed."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class CatalogueEntryRow(SQLModel, table=True):
    """One disease of one center's catalogue from ``added_on`` until (not including) ``removed_on``.

    A removed entry stays, dated, so the catalogue of any past day can be read back; adding the disease again
    makes a new row. No personal data.
    """

    __tablename__ = "catalogue_entry"
    id: int | None = Field(default=None, primary_key=True)
    institution_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    disease: str = Field(max_length=64)
    icd10: str | None = Field(default=None, max_length=16)
    added_on: date
    removed_on: date | None = Field(default=None)
    source: str = Field(max_length=16)  # default | import | chat | cli
    added_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    removed_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")


class CatalogueTierRow(SQLModel, table=True):
    """Which target a center's catalogue is held to (central: 80, general: 50), when an administrator said so;
    a center without a row takes the tier its name implies."""

    __tablename__ = "catalogue_tier"
    institution_code: str = Field(foreign_key="institution.code", max_length=32, primary_key=True)
    tier: str = Field(max_length=16)
    updated_at: datetime = utc_field()


class OrderCatalogueMatchRow(SQLModel, table=True):
    """The catalogue entry an order's need matched when it was filed, with the words that matched.

    Health data of the order's resident: erased with them (``ResidentRepository.forget``)."""

    __tablename__ = "order_catalogue_match"
    order_id: int = Field(foreign_key="care_order.id", primary_key=True)
    institution_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    disease: str = Field(max_length=64)
    icd10: str | None = Field(default=None, max_length=16)
    words: str = Field(max_length=200)
    matched_at: datetime = utc_field()
