"""Audit action tags of the projects app (one enum, as Warehouse does)."""

from enum import StrEnum


class ProjectsAction(StrEnum):
    PROJECT_REGISTERED = "projects.project.registered"  # created as a draft by its tenderer or agent
    PROJECT_UPDATED = "projects.project.updated"
    SECTION_ADDED = "projects.section.added"
    SECTION_UPDATED = "projects.section.updated"
    SECTION_DELETED = "projects.section.deleted"
    DOCUMENT_UPLOADED = "projects.document.uploaded"
    PROJECT_SUBMITTED = "projects.project.submitted"
    PROJECT_RETURNED = "projects.project.returned"
    PROJECT_CONFIRMED = "projects.project.confirmed"
    CHECKLIST_ITEM_ADDED = "projects.checklist_item.added"
    CHECKLIST_ITEM_UPDATED = "projects.checklist_item.updated"
    CHECKLIST_REORDERED = "projects.checklist.reordered"
