from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "tenderhall.projects"
    label = "projects"
