from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Visit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("release", models.CharField(max_length=20)),
                ("at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
