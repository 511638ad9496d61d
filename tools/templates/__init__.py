"""Drafting tool for the generator's Word templates (执法文书模板).

The shipped .docx files in services/generator/templates/ are the source of
truth: clerks edit them in Word/WPS, and services.generator.template_lint
guards them. This tool (re)drafts them, with their JSON Schemas, examples,
the shared data vocabulary and the catalogue, when a new layout is wanted:

    .venv/bin/python -m tools.templates [--only TYPE ...] [--out DIR]

Modules: styles (page, fonts, minimal package), blocks (paragraphs, forms,
seal and signature blocks), vocabulary (the shared data vocabulary and
schema helpers), spec (a document type's catalogue entry, schema, example
and layout), license_flow / penalty_flow / common_flow (the 21 types),
build (writes the files).
"""
