"""Controlled vocabularies of tags (MISP taxonomies) and the tags themselves, as data."""

from django.db import models


class TagVocabulary(models.Model):
    """A namespace of machine tags (``tlp``, ``rsit``, ``nis``), or the free tags (plain words).

    A controlled vocabulary accepts only its own tags (seeded rows); the free one any word.
    """

    namespace = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    free = models.BooleanField(default=False, help_text="Any word is a tag of it.")

    class Meta:
        ordering = ["namespace"]
        verbose_name_plural = "tag vocabularies"

    def __str__(self):
        return self.name


class Tag(models.Model):
    """One tag, by its canonical spelling (``incidents.tags.canonical``).

    A ``tlp:`` tag is never attached: an object's TLP tag is its label (shown as a tag, changed as a label).
    """

    vocabulary = models.ForeignKey(TagVocabulary, on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=200, unique=True)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
