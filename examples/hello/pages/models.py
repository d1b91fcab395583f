from django.db import models


class Visit(models.Model):
    release = models.CharField(max_length=20)
    at = models.DateTimeField(auto_now_add=True)
