from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    value = models.FloatField()
    stock = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class Purchase(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    qty = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class AuditLog(models.Model):
    action = models.CharField(max_length=50)
    detail = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
